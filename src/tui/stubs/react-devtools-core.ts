// Ink imports react-devtools-core only when DEV=true; the bundle aliases it to
// this stub so the TUI neither needs the package nor loads it (scripts/build.mjs).
export default { initialize: () => undefined, connectToDevTools: () => undefined };
