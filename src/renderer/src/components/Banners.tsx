/** The result line of a page's last action: an error with its fix, or a notice. */
export function Banners({ error, notice, errorTestId }: { error: { message: string; fix?: string } | null; notice: string | null; errorTestId: string }) {
  if (error) {
    return (
      <div className="banner error-banner" role="alert" data-testid={errorTestId}>
        <strong>{error.message}</strong> {error.fix}
      </div>
    );
  }
  return notice ? (
    <div className="banner ok" role="status">
      {notice}
    </div>
  ) : null;
}
