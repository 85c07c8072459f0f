/**
 * Test-only TLS material for OCPP security profiles 2 and 3, generated at test time with the openssl
 * CLI into a temp dir (nothing is kept in the tree): a CA, a server certificate for 127.0.0.1 /
 * localhost, client certificates with a given CN signed by the CA, and a rogue CA with its own client
 * certificate. ECDSA P-256 keys: quick to generate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Pem {
  key: string;
  cert: string;
}

export interface TestPki {
  ca: Pem;
  server: Pem;
  /** Client certificate (CN = the given name) signed by `ca`. */
  client(cn: string): Pem;
  /** A client certificate with the given CN signed by another, untrusted CA. */
  rogueClient(cn: string): Pem;
  cleanup(): void;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'gridflex-ocpp-tls-'));
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  const keyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const makeCa = (name: string) => {
    openssl(dir, ['req', '-x509', ...keyArgs, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
  };
  let serial = 1;
  const issue = (ca: string, name: string, cn: string, ext: string) => {
    openssl(dir, ['req', ...keyArgs, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', String(serial++), '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
    return { key: read(`${name}.key`), cert: read(`${name}.crt`) };
  };
  makeCa('test-ca');
  makeCa('rogue-ca');
  const server = issue('test-ca', 'server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  let n = 0;
  const clientExt = 'extendedKeyUsage=clientAuth\n';
  return {
    ca: { key: read('test-ca.key'), cert: read('test-ca.crt') },
    server,
    client: (cn) => issue('test-ca', `client-${n++}`, cn, clientExt),
    rogueClient: (cn) => issue('rogue-ca', `rogue-${n++}`, cn, clientExt),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
