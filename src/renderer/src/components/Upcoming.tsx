/** A page whose capability is not built yet says which capability will fill it and what it will do. */
export function Upcoming({ capability, children }: { capability: string; children: React.ReactNode }) {
  return (
    <section className="card upcoming" data-testid="upcoming">
      <h2>Arrives with {capability}</h2>
      <p>{children}</p>
    </section>
  );
}
