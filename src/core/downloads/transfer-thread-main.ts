/** Entry of the download transfer thread (bundled to out/threads/download-transfer.mjs by scripts/build-node.mjs). */
import { serveTransferThread } from './transfer-thread.js';

serveTransferThread();
