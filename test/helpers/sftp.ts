import ssh2, { type ConnectConfig, type SFTPWrapper } from 'ssh2';

export interface SftpConnection {
  client: ssh2.Client;
  sftp: SFTPWrapper;
  close(): void;
}

/** An ssh2 SFTP client session (resolves once the sftp subsystem is open; rejects on a refused login). */
export function sftpConnect(config: ConnectConfig): Promise<SftpConnection> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on('error', reject); // every error, not only the first (a refused connection may report two)
    client.once('close', () => reject(Object.assign(new Error('connection closed before the session was ready'), { level: 'closed' })));
    client.once('ready', () => {
      client.sftp((err, sftp) => {
        if (err) return reject(err);
        client.off('error', reject);
        client.on('error', () => {}); // after the session is up, errors end it; the test sees the failed call
        resolve({ client, sftp, close: () => client.end() });
      });
    });
    client.connect({ host: '127.0.0.1', readyTimeout: 10_000, ...config });
  });
}

export function readRemote(sftp: SFTPWrapper, path: string, start = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stream = sftp.createReadStream(path, { start });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** Runs an SFTP call and resolves with its error code (0 when it succeeded). */
export function codeOf(call: (cb: (err?: Error | null) => void) => void): Promise<number> {
  return new Promise((resolve) => call((err) => resolve(err ? ((err as { code?: number }).code ?? -1) : 0)));
}
