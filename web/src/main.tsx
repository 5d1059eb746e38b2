// Entry point of the console page (bundled into dist/web/app.js by scripts/build-console.mjs).
import { render } from 'preact';
import { App } from './app.js';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
