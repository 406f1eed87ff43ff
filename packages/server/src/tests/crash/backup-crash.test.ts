import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { volumeDigest } from "../../api/block-storage/test-support/backup-api.js";
import { CrashApi, kill, startChild } from "./crash-support.js";

const MiB = 1024 * 1024;
const DATA_MIB = 768;

class Api extends CrashApi {
	async volume(): Promise<string> {
		const r = await this.call("POST", "/volumes", { volume: { size: 1 } });
		assert.equal(r.status, 202);
		await this.until("volumes", r.body.volume.id, "available");
		return r.body.volume.id;
	}

	async device(id: string): Promise<string> {
		const r = await this.call("POST", `/volumes/${id}/action`, {
			"os-initialize_connection": { connector: {} },
		});
		return r.body.connection_info.data.device_path;
	}

	/** Waits until the backup's extension progress shows the operation under way, not finished. */
	async midway(id: string, operation: "backup" | "restore"): Promise<void> {
		await this.poll(async () => {
			const p = (await this.call("GET", `/backups/${id}/cinderbox-progress`))
				.body.progress;
			return p.operation === operation && p.bytes_done > 0 && p.fraction < 0.6;
		}, `${operation} of ${id} under way`);
	}
}

/** Distinct, incompressible 4 MiB chunks, so the backup has real work to do. */
async function fillLarge(path: string): Promise<void> {
	const fh = await open(path, "r+");
	const chunk = randomBytes(4 * MiB);
	for (let i = 0; i < DATA_MIB / 4; i++) {
		chunk.writeUInt32BE(i, 0);
		await fh.write(chunk, 0, chunk.length, i * 4 * MiB);
	}
	await fh.sync();
	await fh.close();
}

let dataDir = "";
after(async () => {
	if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test("SIGKILL during a backup and during a restore: both end in their error states, nothing else is lost", {
	timeout: 300000,
}, async () => {
	dataDir = await mkdtemp(join(tmpdir(), "cinderbox-backup-crash-"));
	let api = new Api(await startChild(dataDir, "raw"));
	await api.login();

	// An earlier backup that must survive everything below.
	const small = await api.volume();
	const smallDev = await api.device(small);
	const fh = await open(smallDev, "r+");
	await fh.write(randomBytes(3 * MiB), 0, 3 * MiB, 10 * MiB);
	await fh.close();
	const smallSha = await volumeDigest(smallDev);
	const early = await api.call("POST", "/backups", {
		backup: { volume_id: small, name: "early" },
	});
	await api.until("backups", early.body.backup.id, "available");

	const big = await api.volume();
	const bigDev = await api.device(big);
	await fillLarge(bigDev);
	const bigSha = await volumeDigest(bigDev);

	// 1. Kill during the backup.
	const doomed = await api.call("POST", "/backups", {
		backup: { volume_id: big, name: "doomed" },
	});
	assert.equal(doomed.status, 202);
	const doomedId = doomed.body.backup.id as string;
	await api.midway(doomedId, "backup");
	assert.equal((await api.status("volumes", big)).status, "backing-up");
	await kill(api.c);

	api = new Api(await startChild(dataDir, "raw"));
	await api.login();
	const failed = await api.poll(async () => {
		const b = await api.status("backups", doomedId);
		return b.status !== "creating" ? b : null;
	}, "backup final state");
	assert.equal(failed.status, "error");
	assert.match(failed.fail_reason, /interrupted/);
	assert.equal((await api.status("volumes", big)).status, "available");
	const verify1 = await api.call("POST", "/cinderbox-repo/verify", {
		full: true,
	});
	assert.equal(verify1.body.verify.ok, true, JSON.stringify(verify1.body));
	const gc = await api.call("POST", "/cinderbox-repo/gc", { grace_seconds: 0 });
	assert.equal(gc.status, 200);
	assert.ok(
		gc.body.gc.deleted > 0,
		`orphaned chunks reclaimed: ${JSON.stringify(gc.body)}`,
	);
	// The errored backup can be deleted.
	assert.equal((await api.call("DELETE", `/backups/${doomedId}`)).status, 202);
	await api.poll(
		async () => (await api.call("GET", `/backups/${doomedId}`)).status === 404,
		"doomed deleted",
	);

	// 2. Kill during a restore into an existing volume.
	const good = await api.call("POST", "/backups", {
		backup: { volume_id: big, name: "good" },
	});
	const goodId = good.body.backup.id as string;
	await api.until("backups", goodId, "available");
	const target = await api.volume();
	const r = await api.call("POST", `/backups/${goodId}/restore`, {
		restore: { volume_id: target },
	});
	assert.equal(r.status, 202);
	await api.midway(goodId, "restore");
	assert.equal(
		(await api.status("volumes", target)).status,
		"restoring-backup",
	);
	await kill(api.c);

	api = new Api(await startChild(dataDir, "raw"));
	await api.login();
	const t = await api.poll(async () => {
		const v = await api.status("volumes", target);
		return v.status !== "restoring-backup" ? v : null;
	}, "restore target final state");
	assert.equal(t.status, "error_restoring");
	assert.equal(
		(await api.until("backups", goodId, "available")).status,
		"available",
	);
	const verify2 = await api.call("POST", "/cinderbox-repo/verify", {
		full: true,
	});
	assert.equal(verify2.body.verify.ok, true, JSON.stringify(verify2.body));

	// Every backup still restores byte-exact.
	for (const [id, sha] of [
		[early.body.backup.id as string, smallSha],
		[goodId, bigSha],
	] as const) {
		const res = await api.call("POST", `/backups/${id}/restore`, {
			restore: {},
		});
		assert.equal(res.status, 202);
		await api.until("volumes", res.body.restore.volume_id, "available");
		await api.until("backups", id, "available");
		assert.equal(
			await volumeDigest(await api.device(res.body.restore.volume_id)),
			sha,
		);
	}
	api.c.proc.kill("SIGTERM");
	await new Promise((r2) => api.c.proc.once("exit", r2));
});
