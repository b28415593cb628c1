import { createHash } from 'node:crypto';
import type { ChangeActor } from '../../lib/contracts/internal-db/changes.js';
import { generatePassword, hashPassword } from './passwords.js';
import type { Store } from './store/index.js';

export const DEMO = Object.freeze({ vendor: 'Acme Software', product: 'acme-db', customer: 'demo', versions: ['1.0.0', '2.0.0'] });

/** The bytes of a demo artifact: 1 MiB of readable text, the same on every installation. */
export function demoArtifactContent(version: string): Buffer {
  const line = Buffer.from(`${DEMO.product} ${version}: demo artifact of the fulfillment server\n`);
  return Buffer.alloc(1_048_576, line);
}

/**
 * Demo data for a fresh installation, in one transaction: a vendor, a product with two published
 * releases, a customer entitled to it, and customer, vendor and admin API tokens. The secrets are
 * returned (to be shown once) and stored only hashed. Does nothing when the demo vendor exists.
 * The artifacts name repository objects by the SHA-256 of `demoArtifactContent`; putting those
 * bytes in a file host's repository is the caller's part (npm start does it). Its changes are
 * recorded as made `by` (absent: the system).
 */
export async function seedDemo(store: Store, by?: ChangeActor): Promise<Record<string, string | boolean>> {
  if (store.catalogue.hasVendor(DEMO.vendor)) return { created: false };
  const password = generatePassword();
  const hash = await hashPassword(password, store.scryptLogN);
  return store.transaction(() => {
    const { catalogue, customers, entitlements } = store;
    const vendor = catalogue.createVendor(DEMO.vendor, by);
    catalogue.createProduct(DEMO.vendor, DEMO.product, 'Acme DB', null, by);
    for (const version of DEMO.versions) {
      catalogue.createRelease(DEMO.product, version, 'stable', by);
      const content = demoArtifactContent(version);
      const digest = createHash('sha256').update(content).digest('hex');
      catalogue.addArtifact(
        DEMO.product,
        version,
        {
          filename: `${DEMO.product}-${version}-linux-x64.tar.gz`,
          size: content.length,
          sha256: digest,
          platform: 'linux',
          arch: 'x64',
          objectId: digest,
        },
        by,
      );
      catalogue.publish(DEMO.product, version, by);
    }
    const customer = customers.create(DEMO.customer, 'Demo Customer', null, hash, by);
    entitlements.grant(customer.id, DEMO.product, '*', null, null, 'keep', by);
    return {
      created: true,
      customer: DEMO.customer,
      password,
      customerToken: customers.createToken('customer', customer.id, 'demo', by).token,
      vendorToken: customers.createToken('vendor', vendor.id, 'demo', by).token,
      adminToken: customers.createToken('admin', null, 'demo', by).token,
    };
  });
}
