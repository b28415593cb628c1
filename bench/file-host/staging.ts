/**
 * Staging benchmark: the time to stage one object into a fresh customer area through the commlink
 * (the web host's `stage` order to the file host, reply included), against `cp` of the same object
 * on the same filesystem. Real, non-sparse files of 1 MiB, 100 MiB and 1 GiB, page cache warm for
 * both. Also the whole web-side staging (entitlement check with the internal-db, stage, record).
 *   node dist/bench/file-host/staging.js
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../commlink/measure.js';
import { runIfMain, writeResults, type Result } from '../results.js';
import { startBenchChain } from './chain.js';
import * as FileHost from '../../lib/contracts/file-host/operations.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Fixed, named parameters. */
export const PARAMS = Object.freeze({
  runs: 7,
  sizes: [
    ['1 MiB', 1024 * 1024],
    ['100 MiB', 100 * 1024 * 1024],
    ['1 GiB', 1024 * 1024 * 1024],
  ] as const,
  targetMs: 5,
});

const round = (values: number[]) => values.map((v) => Math.round(v * 1000) / 1000);

export async function main(): Promise<Result[]> {
  const chain = await startBenchChain();
  const results: Result[] = [];
  try {
    const fileHost = chain.web.fileHosts.pick();
    for (const [label, size] of PARAMS.sizes) {
      const filename = `acme-${label.replace(' ', '')}.bin`;
      const objectId = await chain.ingest(filename, size);
      const version = `1.0.${size}`;
      await chain.publish(version, filename, objectId, size);
      const stage: number[] = [];
      const staged: number[] = [];
      const cp: number[] = [];
      const full: number[] = [];
      for (let run = 0; run < PARAMS.runs; run++) {
        const items = [{ objectId, product: 'acme', version, filename }];
        let t0 = performance.now();
        const reply = await chain.web.fileHosts.ask(fileHost, FileHost.stage, { customer: `bench-${size}-${run}`, items });
        stage.push(performance.now() - t0);
        staged.push(reply.ms);
        if (reply.files[0]!.method !== 'link') throw new Error(`staged by ${JSON.stringify(reply.files)}, not a link`);
        const dest = join(chain.dir, 'areas', `cp-${run}.bin`);
        t0 = performance.now();
        const done = spawnSync('cp', [chain.objectPath(objectId), dest]);
        cp.push(performance.now() - t0);
        if (done.status !== 0) throw new Error(`cp failed: ${done.stderr.toString()}`);
        rmSync(dest, { force: true });
        await chain.web.fileHosts.ask(fileHost, FileHost.unstage, { customer: 'bench', product: 'acme' });
        t0 = performance.now();
        await chain.web.fulfillment.stage('bench', 'acme', version);
        full.push(performance.now() - t0);
      }
      process.stderr.write(
        `  ${label}: stage ${median(stage).toFixed(3)} ms (file host ${median(staged).toFixed(3)} ms), cp ${median(cp).toFixed(1)} ms, web stage ${median(full).toFixed(2)} ms\n`,
      );
      results.push(
        {
          metric: `stage ${label} through the commlink`,
          unit: 'ms',
          value: median(stage),
          peer: 'cp',
          peerValue: median(cp),
          ratio: median(stage) / median(cp),
          target: PARAMS.targetMs,
          better: 'lower',
          runs: round(stage),
        },
        { metric: `stage ${label}, file host's own time`, unit: 'ms', value: median(staged), better: 'lower', runs: round(staged) },
        { metric: `stage ${label} via the web host (entitlement check + stage + record)`, unit: 'ms', value: median(full), better: 'lower', runs: round(full) },
      );
    }
  } finally {
    await chain.close();
  }
  const intro = [
    `Staging one object into a fresh customer area (${new Date().toISOString().slice(0, 10)}, ${process.version}, ${PARAMS.runs} runs, medians): the web host's \`stage\` order over the commlink (aes-256-gcm, loopback) to the file host in its own process, which hard-links the repository object into \`areas/<customer>/<product>/<version>/\` (directories created), reply included.`,
    'Peer: `cp` of the same object to the same filesystem, process start included, page cache warm. Files are real (non-sparse) random bytes. The "via the web host" line adds the entitlement check (release.resolve) and the staging record in the internal-db.',
  ].join('\n');
  await writeResults(join(here, '..', '..', '..', 'bench', 'results'), 'staging', 'Staging benchmark (hard links vs cp)', intro, results);
  return results;
}

runIfMain(import.meta.url, main);
