/**
 * Shown in a browser without the login cookie: says where the login URL comes from, and takes an
 * API key instead (a browser on another machine). The key is posted to /login by fetch — in the
 * body, never a URL; a plain form post would carry `Origin: null` under the UI's no-referrer
 * policy, which the server's Origin check refuses.
 */
import { useState } from 'react';

export function LoginScreen() {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const logIn = async () => {
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/login', { method: 'POST', body: new URLSearchParams({ key: key.trim() }), redirect: 'manual', credentials: 'same-origin' });
      // Success is a redirect (303 to /): the cookie is set; load the app with it.
      if (res.type === 'opaqueredirect' || res.ok) return window.location.reload();
      setError((await res.text()).trim() || `Login failed (HTTP ${res.status}).`);
    } catch (err) {
      setError(`The AIMA core could not be reached: ${(err as Error).message}.`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login">
      <h1>AIMA</h1>
      <p>This browser is not logged in to the AIMA core.</p>
      <p>
        On the machine that runs AIMA, open the <strong>login URL</strong> that <code>aima serve</code> printed when it started. Run <code>aima status</code> to see it again.
      </p>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void logIn();
        }}
      >
        <label>
          From another machine, an API key{' '}
          <input type="password" name="key" autoComplete="off" placeholder="aima-…" required value={key} onChange={(e) => setKey(e.target.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <p className="hint">Keys are created on the machine that runs AIMA: Settings → Remote access, or <code>aima key create NAME</code>.</p>
    </div>
  );
}
