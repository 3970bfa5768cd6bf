// Process entry of the load generator: takes one LoadSpec over IPC, runs it, sends the LoadResult
// back and exits. The bench main process forks one per measurement and pins it to its own CPU.
import { runLoad, type LoadSpec } from './loadgen';

process.once('message', (spec: LoadSpec) => {
  runLoad(spec).then(
    (result) => process.send!({ result }, () => process.exit(0)),
    (err: Error) => process.send!({ error: err.stack ?? err.message }, () => process.exit(1)),
  );
});
