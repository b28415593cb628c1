import type { Logger } from '../../../lib/log/logger.js';
import type { FileHostRegistry } from '../file-hosts.js';
import type { Fulfillment } from '../fulfillment.js';
import type { InternalDbLink } from '../internal-db-link.js';
import type { ApiTokens } from '../auth/api-tokens.js';
import type { WebMetrics } from '../ops/metrics.js';
import type { WebhookSettings } from '../webhooks/settings.js';

/** What the API's handlers work with. */
export interface ApiDeps {
  db: InternalDbLink;
  fulfillment: Fulfillment;
  fileHosts: FileHostRegistry;
  tokens: ApiTokens;
  metrics: WebMetrics;
  log: Logger;
  maxJsonBytes: number;
  maxJsonDepth: number;
  maxUploadBytes: number;
  /** Check each JSON answer against the schema its route documents (services.web.checkApiResponses). */
  checkResponses?: boolean;
  /** Webhook registration rules (allowHttp, allowPrivateTargets). */
  webhooks: WebhookSettings;
}
