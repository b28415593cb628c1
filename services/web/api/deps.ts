import type { Logger } from '../../../lib/log/logger.js';
import type { FileHostsView } from '../file-hosts-view.js';
import type { Fulfillment } from '../fulfillment.js';
import type { InternalDbAsk } from '../internal-db-ask.js';
import type { ApiTokens } from '../auth/api-tokens.js';
import type { WebMetrics } from '../ops/metrics.js';
import type { WebhookSettings } from '../webhooks/settings.js';

/** What the API's handlers work with. */
export interface ApiDeps {
  db: InternalDbAsk;
  fulfillment: Fulfillment;
  fileHosts: FileHostsView;
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
