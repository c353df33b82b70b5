// Vite's `?worker&url` import: the URL of a separately bundled worker (or worklet) script.
declare module '*?worker&url' {
  const url: string;
  export default url;
}
