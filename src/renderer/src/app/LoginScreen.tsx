/**
 * Shown in a browser without the login cookie: says where the login URL comes from, and takes an
 * API key instead (a browser on another machine: the key goes in a POST body, never the URL).
 */
export function LoginScreen() {
  return (
    <div className="login">
      <h1>AIMA</h1>
      <p>This browser is not logged in to the AIMA core.</p>
      <p>
        On the machine that runs AIMA, open the <strong>login URL</strong> that <code>aima serve</code> printed when it started. Run <code>aima status</code> to see it again.
      </p>
      <form method="POST" action="/login" className="row">
        <label>
          From another machine, an API key{' '}
          <input type="password" name="key" autoComplete="off" placeholder="aima-…" required />
        </label>
        <button type="submit">Log in</button>
      </form>
      <p className="hint">Keys are created on the machine that runs AIMA: Settings → Remote access, or <code>aima key create NAME</code>.</p>
    </div>
  );
}
