import { CONFIG_DEFAULTS } from '../../../lib/config/index.js';

/** The web host's webhook settings (the configuration's services.web.webhooks). */
export interface WebhookSettings {
  /** Deliver from this web host (the API serves endpoints either way). */
  deliver: boolean;
  allowHttp: boolean;
  allowPrivateTargets: boolean;
  timeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  giveUpSeconds: number;
  leaseSeconds: number;
  keepDeliveriesDays: number;
}

/** The configuration's defaults (lib/config/schema.ts is the one place they are set). */
export const WEBHOOK_DEFAULTS: WebhookSettings = { ...CONFIG_DEFAULTS.services.web.webhooks };
