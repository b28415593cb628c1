import type { WebHttpSettings } from '../service.js';
import type { WebhookSettings } from '../webhooks/settings.js';
import type { UploadSocketSettings } from './wire.js';

/**
 * What a web worker is given at init (over IPC, never argv or the environment: the ticket key is
 * in it). `http` is the web host's options.http as it is, unknown fields included.
 */
export interface WebWorkerSettings {
  host: string;
  http: Partial<WebHttpSettings> & { sessionKeys: readonly string[] } & Record<string, unknown>;
  /** The base URL of the portal and the API, as the primary computed it. */
  httpUrl: string;
  ticketPrivateKeyPem: string;
  ticketTtlSeconds: number;
  crypto: { threads: number; ticketSigning: boolean; chunkCrypto: boolean } | undefined;
  webhooks: WebhookSettings;
  upload: UploadSocketSettings;
}
