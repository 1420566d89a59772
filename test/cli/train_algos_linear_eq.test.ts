// Every algorithm of `flywheel train` improves linear-eq-v1 from an SFT init
// (hard: negative solutions; the teacher drops their minus sign). test/cli/train_algos.ts.
import { everyAlgorithmImproves } from './train_algos.ts';

everyAlgorithmImproves({ family: 'linear-eq-v1', difficulty: 2, blockSize: 32, sftSteps: 2500, rlSteps: 40 });
