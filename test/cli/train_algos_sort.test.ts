// Every algorithm of `flywheel train` improves sort-v1 from an SFT init
// (hard: a duplicated value; the teacher collapses duplicates). test/cli/train_algos.ts.
import { everyAlgorithmImproves } from './train_algos.ts';

everyAlgorithmImproves({ family: 'sort-v1', difficulty: 2, blockSize: 48, sftSteps: 1500, rlSteps: 40 });
