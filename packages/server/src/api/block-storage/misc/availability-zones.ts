import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../../../config/config.js';

/** One zone, always available: every backend of this server lives in it. */
export function registerAvailabilityZoneRoutes(scope: FastifyInstance, config: ServerConfig): void {
  scope.get('/os-availability-zone', async () => ({
    availabilityZoneInfo: [{ zoneName: config.availabilityZone, zoneState: { available: true } }],
  }));
}
