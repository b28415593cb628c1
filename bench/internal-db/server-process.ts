/**
 * The internal-db under benchmark, in its own process (as on its own host): a fresh database with
 * a catalogue of 3 products × 10 releases, 100 customers with 3 entitlements each, one SSH key.
 * IPC: parent sends { keys, dir }, child answers { port }.
 */
import { InternalDbService } from '../../services/internal-db/service.js';
import { benchDbOptions } from '../db-options.js';
import { hashPassword } from '../../services/internal-db/passwords.js';

export const BENCH_PASSWORD = 'bench password 1';
export const BENCH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench';

process.once('message', async ({ keys, dir }: { keys: string[]; dir: string }) => {
  const service = await InternalDbService.start(benchDbOptions(dir, keys));
  const { catalogue, customers, entitlements } = service.store;
  const hash = await hashPassword(BENCH_PASSWORD, 15);
  service.store.transaction(() => {
    catalogue.createVendor('Bench Vendor');
    for (let p = 0; p < 3; p++) {
      catalogue.createProduct('Bench Vendor', `product-${p}`, `Product ${p}`, null);
      for (let r = 0; r < 10; r++) {
        const version = `${1 + Math.floor(r / 5)}.${r % 5}.0`;
        catalogue.createRelease(`product-${p}`, version, 'stable');
        for (const platform of ['linux', 'windows']) {
          catalogue.addArtifact(`product-${p}`, version, {
            filename: `p${p}-${version}-${platform}.zip`,
            size: 1e6,
            sha256: 'd'.repeat(64),
            platform,
            arch: 'x64',
            objectId: 'd'.repeat(64),
          });
        }
        catalogue.publish(`product-${p}`, version);
      }
    }
    for (let c = 0; c < 100; c++) {
      const { id } = customers.create(`customer-${c}`, `Customer ${c}`, null, hash);
      for (let p = 0; p < 3; p++) entitlements.grant(id, `product-${p}`, p === 0 ? '*' : '^1.0.0', null, null, 'keep');
    }
  });
  const { parseSshPublicKey } = await import('../../services/internal-db/ssh-keys.js');
  customers.addSshKey('customer-0', parseSshPublicKey(BENCH_KEY));
  process.send!({ port: service.address!.port });
  process.on('disconnect', () => void service.close(0).then(() => process.exit(0)));
});
