import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { writeFileAtomic } from '../../lib/commlink/keybag-file.js';
import type { Config } from '../../lib/config/index.js';
import type { Logger } from '../../lib/log/logger.js';
import { HashPool } from '../../services/ftp/repository/hash-pool.js';
import { Repository } from '../../services/ftp/repository/repository.js';
import { openDatabase } from '../../services/internal-db/db/open.js';
import { DEMO, demoArtifactContent, seedDemo } from '../../services/internal-db/demo.js';
import { Store } from '../../services/internal-db/store/index.js';
import { exists } from '../cli.js';

/** The demo's secrets, made once with the demo data and kept (mode 0600) beside the other secrets. */
export interface DemoSecrets {
  readonly customer: string;
  readonly password: string;
  readonly customerToken: string;
  readonly vendorToken: string;
  readonly adminToken: string;
}

export interface DemoSetup {
  /** True when this run created the demo data. */
  readonly created: boolean;
  /** Undefined when the demo data predates the secrets file (they were shown once, then). */
  readonly secrets: DemoSecrets | undefined;
  readonly secretsPath: string;
}

/** Where the demo secrets are kept: in the internal-db link's key bag's directory (the secrets directory). */
export function demoSecretsPath(config: Config): string {
  return join(dirname(config.commlink.internalDbBagPath), 'demo.json');
}

/**
 * Before the services start: a fresh database gets the demo data (a vendor, a product with two
 * releases, an entitled customer, tokens), whose secrets are written to the demo secrets file, and
 * the demo artifacts' bytes are put in the file host's repository when missing. The database is
 * opened here only while no internal-db runs on it, and closed again.
 */
export async function setUpDemo(config: Config, log: Logger): Promise<DemoSetup> {
  const c = config.services.internalDb;
  const secretsPath = demoSecretsPath(config);
  const db = openDatabase(c.dbPath, { synchronous: c.synchronous });
  let seeded: Record<string, string | boolean>;
  try {
    seeded = await seedDemo(new Store(db, { scryptLogN: c.scryptLogN }));
  } finally {
    db.close();
  }
  if (seeded.created === true) {
    const { created: _created, ...secrets } = seeded;
    await writeFileAtomic(secretsPath, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, overwrite: true, dirMode: 0o700 });
  }
  await ingestDemoArtifacts(config, log);
  const secrets = (await exists(secretsPath)) ? (JSON.parse(await readFile(secretsPath, 'utf8')) as DemoSecrets) : undefined;
  return { created: seeded.created === true, secrets, secretsPath };
}

async function ingestDemoArtifacts(config: Config, log: Logger): Promise<void> {
  const hashPool = new HashPool({ maxThreads: 1 });
  try {
    const repository = await Repository.open(config.services.ftp.repositoryDir, hashPool, log);
    for (const version of DEMO.versions) {
      const content = demoArtifactContent(version);
      await repository.ingestStream(Readable.from([content]), { size: content.length }); // a stored object is kept as it is
    }
  } finally {
    await hashPool.close();
  }
}
