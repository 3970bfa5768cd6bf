// Catalog changes without a restart: SIGHUP, or (ROUTERHUB_MODELS_POLL_MS) a change of the file's
// modification time, which also catches a Kubernetes ConfigMap update (a symlink swap). A catalog
// that does not load is logged and the one in use stays; responses under way keep their route plan.
import { unwatchFile, watchFile } from 'node:fs';
import { ModelCatalog } from './catalog';

export interface CatalogReload {
  path: string;
  families: readonly string[];
  apply(catalog: ModelCatalog): void;
  log(msg: string): void;
  /** 0: SIGHUP only. */
  pollMs: number;
}

/** Starts listening; returns the function that stops it. */
export function reloadCatalogOnChange(r: CatalogReload): () => void {
  const reload = (why: string) => {
    let catalog: ModelCatalog;
    try {
      catalog = ModelCatalog.load(r.path, r.families);
    } catch (err) {
      return r.log(`catalog not reloaded (${why}), the previous one stays in use: ${(err as Error).message}`);
    }
    r.apply(catalog);
    r.log(`catalog reloaded (${why}): ${catalog.models.length} models from ${r.path}`);
  };
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  if (r.pollMs > 0) watchFile(r.path, { interval: r.pollMs }, (now, before) => now.mtimeMs !== before.mtimeMs && now.mtimeMs > 0 && reload('file changed'));
  return () => {
    process.off('SIGHUP', onHup);
    if (r.pollMs > 0) unwatchFile(r.path);
  };
}
