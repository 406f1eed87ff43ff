import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorMessage } from '../app/api.js';

test('a refusal reads as the API\'s own sentence in each of the three error dialects', () => {
  assert.equal(errorMessage(400, { badRequest: { code: 400, message: 'Invalid volume: busy.' } }), 'Invalid volume: busy.');
  assert.equal(errorMessage(403, { error_code: 'BackupService.8600', error_msg: 'Policy doesn\'t allow cbr:vaults:backup to be performed.' }), 'Policy doesn\'t allow cbr:vaults:backup to be performed.');
  assert.equal(errorMessage(401, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } }), 'The request you have made requires authentication.');
  // A body that is not one of them (a proxy's HTML page, nothing at all) still gives the status in words.
  assert.equal(errorMessage(502, null), 'The server answered 502.');
});
