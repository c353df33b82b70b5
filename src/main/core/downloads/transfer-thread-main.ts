/** Entry of the download transfer thread (bundled to out/threads/download-transfer.mjs by scripts/build-node.mjs). */
import { isTransferThread, serveTransferThread } from './transfer-thread.js';

if (isTransferThread()) serveTransferThread();
