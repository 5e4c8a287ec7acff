// The package version, sent in the default Server and User-Agent headers.
// A test checks that it matches package.json.
export const VERSION = "0.1.0";
