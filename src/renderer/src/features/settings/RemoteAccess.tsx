/**
 * Remote access: the API keys other machines present (created with the secret shown once,
 * revoked; the core refuses to revoke the last one while it listens beyond loopback), the address
 * the core listens on (rebinding needs no restart of the services; beyond loopback only once a
 * key exists, as the core enforces), the URLs other machines use, and the install CA to trust.
 */
import { useCallback, useEffect, useState } from 'react';
import type { ApiKeyInfo, ServerStatus } from '../../../../shared/contract/index.js';
import { invoke } from '../../api/client.js';
import { useSettings } from '../../stores/settings.js';

const LOOPBACK = '127.0.0.1';
const EVERY_NETWORK = '0.0.0.0';

export function RemoteAccess() {
  const [keys, setKeys] = useState<ApiKeyInfo[] | null>(null);
  const [status, setStatus] = useState<ServerStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [newName, setNewName] = useState('');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const [address, setAddress] = useState(EVERY_NETWORK);
  const [names, setNames] = useState('');

  const reload = useCallback(async () => {
    try {
      const [k, s] = await Promise.all([invoke('keys.list', {}), invoke('server.status', {})]);
      setKeys(k);
      setStatus(s);
      if (s.remote) setAddress(s.host);
    } catch (err) {
      setError((err as Error).message);
    }
  }, []);
  useEffect(() => {
    void reload();
  }, [reload]);

  /** Runs one change; its error (with the core's fix) shows under the section. */
  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      const e = err as Error & { fix?: string };
      setError(e.fix ? `${e.message} ${e.fix}` : e.message);
    } finally {
      setBusy(false);
      await reload();
    }
  };

  const active = keys?.filter((k) => !k.revokedAt) ?? [];
  const listen = (host: string) =>
    run(async () => {
      const extra = names
        .split(/[\s,]+/)
        .map((n) => n.trim())
        .filter(Boolean);
      setStatus(await invoke('server.listen', { host, ...(extra.length ? { names: extra } : {}) }));
    });

  return (
    <fieldset className="remote-access" data-testid="remote-access">
      <legend>Remote access</legend>
      <p className="hint">Other machines reach AIMA with an API key, sent as "Authorization: Bearer KEY". Local programs need none.</p>

      <h4>API keys</h4>
      {keys === null ? (
        <p>Loading keys…</p>
      ) : active.length === 0 ? (
        <p data-testid="no-keys">No API keys.</p>
      ) : (
        <ul className="api-keys">
          {active.map((k) => (
            <li key={k.id} data-testid="api-key">
              <span className="name">{k.name}</span> <code>{k.prefix}…</code> <small>{k.lastUsedAt ? `last used ${k.lastUsedAt}` : 'never used'}</small>{' '}
              <button type="button" disabled={busy} onClick={() => void run(async () => void (await invoke('keys.revoke', { id: k.id })))}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          const name = newName.trim();
          if (!name) return setError('Give the key a name (the machine or program that will use it).');
          void run(async () => {
            const c = await invoke('keys.create', { name });
            setCreated({ name, key: c.key });
            setCopied(false);
            setNewName('');
          });
        }}
      >
        <input name="keyName" placeholder="name, e.g. laptop" value={newName} onChange={(e) => setNewName(e.target.value)} />
        <button type="submit" disabled={busy}>
          Create key
        </button>
      </form>
      {created && (
        <div className="created-key" data-testid="created-key">
          <p>
            Key "{created.name}" — copy it now: AIMA keeps only its hash and cannot show it again.
          </p>
          <code data-testid="created-key-secret">{created.key}</code>{' '}
          <button
            type="button"
            onClick={() =>
              void navigator.clipboard?.writeText(created.key).then(
                () => setCopied(true),
                () => setError('The browser did not allow copying: select the key and copy it by hand.'),
              )
            }
          >
            {copied ? 'Copied' : 'Copy'}
          </button>{' '}
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}

      <h4>Listening</h4>
      {status && (
        <p data-testid="listen-state">
          {status.remote ? `On the network (${status.host}, port ${status.port})` : `This machine only (${status.host}, port ${status.port})`}
          {status.secure ? ', HTTPS and HTTP' : ', HTTP'}
        </p>
      )}
      <div className="row">
        <label>
          Address{' '}
          <input name="listenAddress" value={address} onChange={(e) => setAddress(e.target.value)} title="0.0.0.0: every network of this machine; or one of its addresses" />
        </label>
        <label>
          Names{' '}
          <input name="serverNames" value={names} onChange={(e) => setNames(e.target.value)} placeholder="gpu-box.lan (optional)" title="DNS names other machines use for this one, besides its host name" />
        </label>
        <button type="button" disabled={busy || active.length === 0} onClick={() => void listen(address.trim())} title={active.length === 0 ? 'Create an API key first' : ''}>
          {status?.remote ? 'Listen again' : 'Listen on the network'}
        </button>
        {status?.remote && (
          <button type="button" disabled={busy} onClick={() => void listen(LOOPBACK)}>
            This machine only
          </button>
        )}
      </div>
      {active.length === 0 && <p className="hint">Listening on the network needs an API key: create one first.</p>}
      {status && status.urls.length > 0 && (
        <div data-testid="remote-urls">
          <p>Other machines open:</p>
          <ul>
            {status.urls.map((u) => (
              <li key={u}>
                <code>{u}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {status?.tls?.caPath && (
        <div className="trust-ca" data-testid="trust-ca">
          <p>
            HTTPS uses a certificate from this install's own authority. On each machine that connects, trust it once:{' '}
            <a href={status.tls.caPath} download="aima-ca.pem">
              download aima-ca.pem
            </a>{' '}
            and check that its SHA-256 fingerprint is <code>{status.tls.caFingerprint}</code>.
          </p>
          <ul className="hint">
            <li>Linux: copy it to /usr/local/share/ca-certificates/aima-ca.crt and run sudo update-ca-certificates (Chromium: Settings → Privacy and security → Security → Manage certificates → Authorities → Import).</li>
            <li>macOS: open it in Keychain Access, add it to System, and set "Always Trust" for SSL.</li>
            <li>Windows: open it, Install Certificate → Local Machine → "Trusted Root Certification Authorities".</li>
            <li>Firefox (its own store): Settings → Privacy &amp; Security → Certificates → View Certificates → Authorities → Import, tick "Trust this CA to identify websites".</li>
          </ul>
        </div>
      )}
      {status?.tls?.source === 'user' && <p>HTTPS with your certificate, valid until {status.tls.validTo.slice(0, 10)}.</p>}
      <UserCertificate />
      {error && (
        <p className="error" role="alert" data-testid="remote-error">
          {error}
        </p>
      )}
    </fieldset>
  );
}

/**
 * A certificate of your own instead of the install CA's (the tlsCertFile / tlsKeyFile settings,
 * paths on the machine that runs AIMA). Checked when the listener next binds ("Listen again" or
 * the next start): a mismatched key, an expired certificate or a name it does not cover is refused there.
 */
function UserCertificate() {
  const { settings, update } = useSettings();
  if (!settings) return null;
  return (
    <details className="user-cert">
      <summary>Use my own certificate</summary>
      <p className="hint">PEM files on the machine that runs AIMA; both empty: AIMA's own CA. They apply at the next "Listen again" or start.</p>
      <label className="row">
        Certificate{' '}
        <input name="tlsCertFile" defaultValue={settings.tlsCertFile} placeholder="/etc/ssl/gpu-box.pem" onBlur={(e) => e.target.value !== settings.tlsCertFile && void update({ tlsCertFile: e.target.value.trim() })} />
      </label>
      <label className="row">
        Key{' '}
        <input name="tlsKeyFile" defaultValue={settings.tlsKeyFile} placeholder="/etc/ssl/gpu-box-key.pem" onBlur={(e) => e.target.value !== settings.tlsKeyFile && void update({ tlsKeyFile: e.target.value.trim() })} />
      </label>
    </details>
  );
}
