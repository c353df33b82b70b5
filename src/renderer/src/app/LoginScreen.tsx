/** Shown in a browser without the login cookie: says exactly where the login URL comes from. */
export function LoginScreen() {
  return (
    <div className="login">
      <h1>AIMA</h1>
      <p>This browser is not logged in to the AIMA core.</p>
      <p>
        Open the <strong>login URL</strong> that <code>aima serve</code> printed when it started. Run <code>aima status</code> to see it again.
      </p>
    </div>
  );
}
