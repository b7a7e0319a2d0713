"""The Learner's overhead over a plain PyTorch loop doing the same work, on the CPU.

Both train copies of the same small CNN on the same in-memory batches: SGD, a one-cycle schedule stepped per batch, accuracy and
mean loss summed on the device and read once at the end. The learner does it with DeviceCB, MetricsCB, BatchSchedulerCB and its
built-in NonFiniteGuardCB. Runs alternate between the two. The figure is the fastest run of each (like `timeit`: noise from other
processes only ever adds time), with the medians beside it. Target: overhead <= 3% of step time.

    python benchmarks/bench_learner.py [--steps 50] [--repeats 15] [--bs 64] [--threads N] [--cpu-time]
"""
import argparse, statistics, time
from copy import deepcopy
from functools import partial

from tinyimagenet.data import DataLoaders
from tinyimagenet.learner import BatchSchedulerCB, DeviceCB, Learner, MetricsCB  # first: it imports torcheval without its warning

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import OneCycleLR
from torcheval.metrics import Mean, MulticlassAccuracy

LR = 0.05

def make_model():
    "A small CNN for 3x32x32 inputs: a few milliseconds per step on a CPU."
    conv = lambda ni, nf: nn.Sequential(nn.Conv2d(ni, nf, 3, stride=2, padding=1), nn.BatchNorm2d(nf), nn.ReLU())
    return nn.Sequential(conv(3, 16), conv(16, 32), conv(32, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

def plain(model, batches):
    "The loop written out by hand."
    opt = torch.optim.SGD(model.parameters(), LR)
    sched = OneCycleLR(opt, max_lr=LR, total_steps=len(batches))
    accuracy, mean_loss = MulticlassAccuracy(), Mean()
    model.train()
    for xb, yb in batches:
        preds = model(xb)
        loss = F.cross_entropy(preds, yb)
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
        accuracy.update(preds.detach(), yb)
        mean_loss.update(loss.detach(), weight=len(yb))
    return mean_loss.compute().item(), accuracy.compute().item()

def learner(model, batches):
    "The same with the Learner and its callbacks."
    sched = partial(OneCycleLR, max_lr=LR, total_steps=len(batches))
    cbs = [DeviceCB('cpu'), MetricsCB(accuracy=MulticlassAccuracy()), BatchSchedulerCB(sched)]
    learn = Learner(model, DataLoaders(batches, []), lr=LR, cbs=cbs)
    learn.fit(1, valid=False)
    return learn.history[-1]['loss'], learn.history[-1]['accuracy']

def seconds_per_step(run, base, batches, clock=time.perf_counter):
    model = deepcopy(base)
    start = clock()
    run(model, batches)
    return (clock() - start) / len(batches)

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=50, help='optimizer steps per timed run')
    parser.add_argument('--repeats', type=int, default=15, help='timed runs of each loop')
    parser.add_argument('--bs', type=int, default=64, help='batch size')
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch chooses)')
    parser.add_argument('--cpu-time', action='store_true',
                        help='time CPU used by this process, not wall time: steadier on a busy machine (use with --threads 1)')
    args = parser.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batches = [(torch.randn(args.bs, 3, 32, 32), torch.randint(0, 10, (args.bs,))) for _ in range(args.steps)]
    base = make_model()
    test_plain, test_learner = plain(deepcopy(base), batches), learner(deepcopy(base), batches)  # warm-up, and the same work
    assert all(abs(a - b) < 1e-4 for a, b in zip(test_plain, test_learner)), (test_plain, test_learner)
    times, clock = {'plain': [], 'learner': []}, time.process_time if args.cpu_time else time.perf_counter
    for i in range(args.repeats):
        for name in ('plain', 'learner') if i % 2 else ('learner', 'plain'):  # neither always runs first
            times[name].append(seconds_per_step(plain if name == 'plain' else learner, base, batches, clock))
    print(f'CPU, {torch.get_num_threads()} threads, batch {args.bs}x3x32x32, {args.steps} steps x {args.repeats} repeats, '
          f'{"CPU" if args.cpu_time else "wall"} time')
    for name, stat in (('fastest', min), ('median', statistics.median)):
        t_plain, t_learner = stat(times['plain']), stat(times['learner'])
        print(f'{name:8} plain loop {t_plain * 1e3:.3f} ms/step, learner {t_learner * 1e3:.3f} ms/step, '
              f'overhead {(t_learner - t_plain) * 1e6:+.1f} us/step = {(t_learner / t_plain - 1) * 100:+.2f}% (target <= 3%)')

if __name__ == '__main__': main()
