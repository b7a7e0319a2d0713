"""Super-resolution peers side by side, for the same CPU time: on the same training patches and held-out photographs.

The data is `--dataset photos` (the data chapter's `make_photo_tiny_imagenet`): 64x64 patches of eleven real photographs
for training, two whole photographs (the cat and the coffee cup) held out for validation, 2x (32x32 -> 64x64), RGB.
Every trained model sees the same batches (the UNet chapter's `get_superres_dls` at the small-set config: 32x32 crops and
flips, batches of 16) and is scored on the same held-out patches with the UNet chapter's `PSNR` and `SSIM`, on uint8 pixels.

- bicubic: the project's (`superres_input`, torch's bicubic); bicubic and Lanczos (PIL): Pillow's `resize` of the same
  32x32 uint8 pictures.
- ESPCN (Shi et al., *Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural
  Network*, CVPR 2016): 5x5 conv to 64, 3x3 to 32, 3x3 to 3·r² channels, tanh between, then the pixel shuffle.
- FSRCNN (Dong et al., *Accelerating the Super-Resolution Convolutional Neural Network*, ECCV 2016), FSRCNN(d=56, s=12,
  m=4): 5x5 conv to d, 1x1 shrink to s, m 3x3 convs, 1x1 expand to d, PReLU after each, then a 9x9 deconvolution of stride r.
- UNet: the project's `TinyUNet` at the small-set widths, from scratch, and from a classifier (`TinyUNet.from_classifier`
  of a `preact_model` trained 2 epochs on 1,000 Fashion-MNIST images, as the UNet chapter does; first epoch frozen).

Two departures from the papers, the same for both peers: they work on RGB (the papers on the luminance channel alone), and
their output is added to the bicubic upscale of their input, with the last layer starting at zero, as the UNet's is (the
global residual of VDSR, Kim et al. 2016): every trained model starts exactly at bicubic, so a short run can only be a
fair race from the same start. All train with the project's `train` (AdamW, one-cycle) on the MSE of normalized pixels.

Equal CPU time: each model's epoch is timed once (process CPU time, one thread), and each run gets the number of epochs that
fills `--budget` seconds; its real CPU time is recorded beside its wall time and the load average, since the machine may be
shared (process CPU time counts this process alone, so the load matters less than to wall time, though not to nothing).

    OMP_NUM_THREADS=1 python benchmarks/bench_superres.py                 # 3 seeds x 4 trained models, 90 s of CPU each: ~22 min
    OMP_NUM_THREADS=1 python benchmarks/bench_superres.py --budget 20     # a reduced scale: state it beside the figures
    OMP_NUM_THREADS=1 python benchmarks/bench_superres.py --check         # the tests: parameter counts, each peer beats bicubic
    python benchmarks/bench_superres.py --default 20                      # `superres --dataset photos --epochs 20`, 3 seeds, timed
    OMP_NUM_THREADS=1 python benchmarks/bench_superres.py --perceptual 5e-3 2e-3   # the perceptual UNet's collapse, per epoch, 2 seeds
    OMP_NUM_THREADS=1 python benchmarks/bench_superres.py --photo-counts 1 3 6 11 --more DIR   # the UNet's gain against its training photographs

`--photo-counts` trains the UNet from scratch on n of the eleven training photographs (a random n for each seed), and with
`--more DIR` on every picture under DIR (cut as `superres --images DIR` cuts them, `picture_patches`), alone and with the
eleven: every run takes the same number of steps (those the eleven's run takes in `--budget` CPU seconds, 62 batches an epoch,
a fresh draw of the pool's patches each epoch), so the pool of patches is all that differs. Each row also gives bicubic's PSNR
on the pool's own patches (`pool_bicubic_psnr`: high means smooth patches, little for a network to learn); `--fill` adds that
column to a file written before it existed, without training. The larger folder used for the
benchmarks page: the twelve photographs of Debian's `mate-backgrounds` package (`/usr/share/backgrounds/mate/nature`; GPL-2+):
    apt-get download mate-backgrounds && dpkg -x mate-backgrounds_*.deb mate && cp -r mate/usr/share/backgrounds/mate/nature DIR
"""
import argparse, csv, io, itertools, json, os, random, sys, time
from copy import deepcopy
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from tinyimagenet.augment import random_crop_flip
from tinyimagenet.classify import get_recipe
from tinyimagenet.config import SuperresConfig
from tinyimagenet.core import write_atomically
from tinyimagenet.data import DataLoaders, DeviceDataLoader, dataset_path, get_imagenet_dls, preprocess
from tinyimagenet.learner import Callback, FreezeCB, train
from tinyimagenet.preact_resnet import preact_model
from tinyimagenet.unet import (PSNR, SSIM, FeatureLoss, TinyUNet, downsample, get_superres_dls, picture_patches, superres_metrics, to_bytes, unet_widths,
                               upsample)

config = SuperresConfig.at_scale(small=True)  # the small-set knobs: bs, crop, widths, the UNet's lr
# AdamW's peak rates. The peers': the best of 1e-3, 3e-3 and 1e-2 after 10 epochs (seed 0, held-out gain over bicubic: ESPCN +0.98,
# +0.35, +0.10 dB; FSRCNN +1.08, +1.34, +1.30 dB). The UNets': the small-set config's, as `superres --dataset photos` trains.
lrs = {'ESPCN': 1e-3, 'FSRCNN': 3e-3, 'UNet': config.lr, 'UNet, from a classifier': config.lr}

# ---- the peers, from their papers ----
class ESPCN(nn.Sequential):
    "Shi et al. 2016: feature maps at the low resolution, then a sub-pixel convolution (conv to C·r² channels and a pixel shuffle)."
    def __init__(self, c=3, r=2, n1=64, n2=32, f1=5, f2=3, f3=3):
        super().__init__(nn.Conv2d(c, n1, f1, padding=f1 // 2), nn.Tanh(), nn.Conv2d(n1, n2, f2, padding=f2 // 2), nn.Tanh(),
                         nn.Conv2d(n2, c * r * r, f3, padding=f3 // 2), nn.PixelShuffle(r))
        self.r = r
        nn.init.zeros_(self[-2].weight); nn.init.zeros_(self[-2].bias)  # starts at bicubic (see the module's docstring)

    def forward(self, lr): return upsample(lr, (lr.shape[-2] * self.r, lr.shape[-1] * self.r)) + super().forward(lr)

class FSRCNN(nn.Sequential):
    "Dong et al. 2016, FSRCNN(d, s, m): extract, shrink, map, expand at the low resolution (PReLU after each), then a deconvolution."
    def __init__(self, c=3, r=2, d=56, s=12, m=4):
        layers = [nn.Conv2d(c, d, 5, padding=2), nn.PReLU(d), nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m): layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d), nn.ConvTranspose2d(d, c, 9, stride=r, padding=4, output_padding=r - 1)]
        super().__init__(*layers)
        self.r = r
        for conv in [l for l in self if type(l) is nn.Conv2d]: nn.init.kaiming_normal_(conv.weight, a=0.25); nn.init.zeros_(conv.bias)  # the paper's: He et al.'s for PReLU
        nn.init.zeros_(self[-1].weight); nn.init.zeros_(self[-1].bias)  # the paper: Gaussian of std 0.001; zero: starts at bicubic

    def forward(self, lr): return upsample(lr, (lr.shape[-2] * self.r, lr.shape[-1] * self.r)) + super().forward(lr)

def _lr_batch(crop, xb, yb):
    "`(low-resolution input, target)` for the peers: the same crops, flips and uint8 halving as the UNet's batches, without the bicubic step."
    xb = xb if crop is None else random_crop_flip(xb, crop)
    return preprocess(downsample(xb)), preprocess(xb)

def peer_dls(dls) -> DataLoaders:
    "`dls`'s images, batch size and order, with low-resolution inputs."
    tr, va = dls.train, dls.valid
    return DataLoaders(DeviceDataLoader(tr.x, tr.y, tr.bs, shuffle=True, drop_last=True, batch_tfm=partial(_lr_batch, config.crop), device='cpu'),
                       DeviceDataLoader(va.x, va.y, va.bs, batch_tfm=partial(_lr_batch, None), device='cpu'))

# ---- the fixed methods ----
def pil_upscale(targets:torch.Tensor, method) -> torch.Tensor:
    "Pillow's 2x `resize` with `method` of each target's uint8 halving (the degradation every model gets)."
    small = downsample(targets).permute(0, 2, 3, 1).numpy()
    big = [np.asarray(Image.fromarray(s).resize((2 * s.shape[1], 2 * s.shape[0]), method)) for s in small]
    return torch.from_numpy(np.stack(big)).permute(0, 3, 1, 2)

def score(preds, targets) -> dict:
    return dict(psnr=PSNR().update(preds, targets).compute().item(), ssim=SSIM().update(preds, targets).compute().item())

def fixed_rows(dls) -> list:
    targets = dls.valid.x[:]
    bicubic = to_bytes(torch.cat([xb for xb, _ in dls.valid]))
    return [dict(method=name, seed='', **score(preds, targets)) for name, preds in
            [('bicubic', bicubic), ('bicubic (PIL)', pil_upscale(targets, Image.Resampling.BICUBIC)),
             ('Lanczos (PIL)', pil_upscale(targets, Image.Resampling.LANCZOS))]]

# ---- the trained ones ----
def classifier():
    "The UNet chapter's test-run classifier: a small preact_model, 2 epochs on 1,000 real Fashion-MNIST images."
    torch.manual_seed(0)
    cdls = get_imagenet_dls(32, path=dataset_path('fashion-mnist', per_class=100), device='cpu')
    model = preact_model(len(cdls.classes), *unet_widths(config))
    train(model, cdls, get_recipe('preact').lr, 2, plot=False, device='cpu')
    return model.eval()

def makers(clf) -> dict:
    "name -> (a fresh model, whether it takes the low-resolution input, extra callbacks)."
    out = {'ESPCN': (ESPCN, True, []), 'FSRCNN': (FSRCNN, True, []), 'UNet': (lambda: TinyUNet(*unet_widths(config)), False, [])}
    if clf is not None: out['UNet, from a classifier'] = (lambda: TinyUNet.from_classifier(clf), False, [FreezeCB('down', n_epochs=1)])
    return out

def fit(name, make, low_res, cbs, dls, pdls, epochs, seed):
    "Train a fresh `name` for `epochs`; its held-out scores, epochs, CPU and wall seconds."
    torch.manual_seed(seed)
    model = make()
    load, cpu, wall = os.getloadavg()[0], time.process_time(), time.perf_counter()
    learn = train(model, pdls if low_res else dls, lrs[name], epochs, cbs, F.mse_loss, superres_metrics(), plot=False, device='cpu')
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    last = [r for r in learn.history if r['phase'] == 'eval'][-1]
    return learn, dict(method=name, seed=seed, psnr=last['psnr'], ssim=last['ssim'], epochs=epochs, cpu_s=round(cpu, 1),
                       wall_s=round(wall, 1), load=round((load + os.getloadavg()[0]) / 2, 2))

class EpochCPU(Callback):
    "The process CPU seconds of each epoch, training and evaluation together."
    def before_fit(self, learn): self.seconds, self.start = [], time.process_time()
    def after_epoch(self, learn):
        if not learn.training: self.seconds.append(time.process_time() - self.start); self.start = time.process_time()

def epochs_for(budget, make, low_res, cbs, dls, pdls, name) -> int:
    "How many epochs of `name` fill `budget` CPU seconds, from two epochs of a throwaway model (the first may be frozen, and cheaper)."
    timer = EpochCPU()
    train(make(), pdls if low_res else dls, lrs[name], 2, [*cbs, timer], F.mse_loss, superres_metrics(), plot=False, device='cpu')
    first, later = timer.seconds
    print(f'{name}: {first:.2f} CPU s for the first epoch, then {later:.2f} per epoch', flush=True)
    return max(1, 1 + round((budget - first) / later))

# ---- the tests ----
def check(dls, pdls):
    "ESPCN's and FSRCNN's parameter counts by the papers' formulas; each trained peer beats bicubic on training patches after a short run."
    c, r, n1, n2 = 3, 2, 64, 32
    espcn = (5 * 5 * c * n1 + n1) + (3 * 3 * n1 * n2 + n2) + (3 * 3 * n2 * c * r * r + c * r * r)  # weights + biases, per layer
    assert espcn == 26_796 and sum(p.numel() for p in ESPCN().parameters()) == espcn, espcn
    d, s, m = 56, 12, 4
    weights = lambda c: 25 * c * d + d * s + m * 9 * s * s + s * d + 81 * d * c  # the paper's count, which leaves out biases
    assert weights(1) == 12_464  # the paper's figure for FSRCNN(56, 12, 4) on one channel
    fsrcnn = weights(c) + (d + s + m * s + d + c) + (d + s + m * s + d)  # + biases + the channel-wise PReLUs' slopes
    assert sum(p.numel() for p in FSRCNN().parameters()) == fsrcnn, fsrcnn
    seen = DeviceDataLoader(dls.train.x[:128], dls.train.y[:128], 64, batch_tfm=partial(_lr_batch, None), device='cpu')  # whole training patches
    for name, make in (('ESPCN', ESPCN), ('FSRCNN', FSRCNN)):
        torch.manual_seed(0)
        model = make()
        train(model, pdls, lrs[name], 2, (), F.mse_loss, superres_metrics(), plot=False, device='cpu')
        psnr, bicubic = PSNR(), PSNR(bicubic=True)
        with torch.no_grad():
            for xb, yb in seen: psnr.update(model.eval()(xb), yb); bicubic.update(None, yb)
        gain = psnr.compute().item() - bicubic.compute().item()
        print(f'{name}: {sum(p.numel() for p in model.parameters()):,} parameters; after 2 epochs, {gain:+.2f} dB over bicubic on 128 training patches')
        assert gain > 0.3, f'{name} does not beat bicubic on its training patches after a short run ({gain:+.2f} dB)'
    print('checks passed')

def default_runs(epochs, seeds, out):
    "`tinyimagenet superres --dataset photos` as a user runs it (its own threads), for `epochs`: wall and CPU time, load, held-out gain; rows appended to `out`."
    import resource, subprocess, tempfile
    rows = []
    for seed in seeds:
        run = Path(tempfile.mkdtemp())/'run'
        load, wall, before = os.getloadavg()[0], time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, '-m', 'tinyimagenet.cli', 'superres', '--dataset', 'photos', '--epochs', str(epochs), '--seed', str(seed),
                        '--out', str(run)], check=True, capture_output=True, env={k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'})
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        last = [r for r in json.loads((run/'metrics.json').read_text())['history'] if r['phase'] == 'eval'][-1]
        rows.append(dict(epochs=epochs, seed=seed, psnr=last['psnr'], bicubic_psnr=last['bicubic_psnr'], psnr_gain=last['psnr'] - last['bicubic_psnr'],
                         ssim=last['ssim'], bicubic_ssim=last['bicubic_ssim'], wall_s=round(time.perf_counter() - wall, 1),
                         cpu_s=round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
                         load=round((load + os.getloadavg()[0]) / 2, 2), threads=len(os.sched_getaffinity(0))))  # the command's default: one per core
        print(rows[-1], flush=True)
    old = list(csv.DictReader(open(out))) if out.exists() else []
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader(); writer.writerows([r for r in old if int(r['epochs']) != epochs] + rows)
    write_atomically(out, lambda f: f.write(text.getvalue().encode()))

class BatchStatsProbe(Callback):
    """After each training epoch: the held-out gain over bicubic in eval mode (BatchNorm's running statistics, as the metrics see it),
    with each batch's own statistics instead (a copy in training mode), and the largest running variance of the UNet's BatchNorms."""
    order = 100
    def __init__(self, dls): self.dls, self.rows = dls, []
    @torch.no_grad()
    def after_epoch(self, learn):
        if not learn.training: return
        def gain(model):
            psnr, bicubic = PSNR(), PSNR(bicubic=True)
            for xb, yb in self.dls.valid: psnr.update(model(xb), yb); bicubic.update(None, yb)
            return psnr.compute().item() - bicubic.compute().item()
        bns = [m for m in learn.model.modules() if isinstance(m, nn.BatchNorm2d)]
        self.rows.append(dict(epoch=learn.epoch + 1, eval_gain=gain(deepcopy(learn.model).eval()), batch_stats_gain=gain(deepcopy(learn.model).train()),
                              max_running_var=max(m.running_var.max().item() for m in bns)))

def perceptual_runs(lrs_, seeds, epochs, dls, out):
    "The perceptual loss's UNet as the chapter trains it, at each peak rate in `lrs_` and seed: `BatchStatsProbe`'s rows, to `out`."
    loss, rows = FeatureLoss(classifier().layers), []
    for lr in lrs_:
        for seed in seeds:
            torch.manual_seed(seed)
            probe = BatchStatsProbe(dls)
            train(TinyUNet(*unet_widths(config)), dls, lr, epochs, [probe], loss, superres_metrics(), plot=False, device='cpu')
            rows += [dict(lr=lr, seed=seed, **r) for r in probe.rows]
            print(rows[-1], flush=True)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader(); writer.writerows(rows)
    write_atomically(out, lambda f: f.write(text.getvalue().encode()))

class Steps:
    "`dl`'s batches, `n` an epoch, drawn from its epochs chained (a fresh shuffle each): the same steps whatever the pool's size."
    def __init__(self, dl, n): self.dl, self.n = dl, n
    def __len__(self): return self.n
    def __iter__(self): return itertools.islice(itertools.chain.from_iterable(map(iter, itertools.repeat(self.dl))), self.n)
    def __getattr__(self, name): return getattr(self.dl, name)

def pool_bicubic(x, dls) -> float:
    "Bicubic's PSNR on a pool's own patches: how much the pool leaves for a network to learn (high: smooth patches, little to learn)."
    up = torch.cat([dls.valid.batch_tfm(c, torch.zeros(len(c), dtype=torch.int64))[0] for c in x.split(500)])
    return score(to_bytes(up), x)['psnr']

def photo_count_runs(counts, seeds, budget, more, dls, out, fill=False):
    "The UNet from scratch on n of the training photographs, on `more`'s pictures and on both, the same steps each: held-out gain, to `out`."
    tr = dls.train
    photos = sorted(set(tr.y.tolist()))  # the training photographs (a held-out one has no training patches)
    pools = {f'{n} of the {len(photos)} photographs': n for n in counts}
    if more is not None:
        cut = picture_patches(more, valid_fraction=0.5)  # every picture's patches are used for training: the held-out half too
        extra = torch.cat([cut['train'], cut['valid']])
        pools[f"{more.name}: {len(cut['pictures'])} pictures"] = 'more'
        pools[f"the {len(photos)} photographs and {more.name}'s {len(cut['pictures'])}"] = 'both'
    def pool(n, seed):
        if n == 'more': return extra
        if n == 'both': return torch.cat([tr.x[:], extra])
        return tr.x[:][torch.isin(tr.y, torch.tensor(random.Random(seed).sample(photos, n)))]
    if fill:  # only the pools' bicubic column, into the rows `out` holds (no training)
        rows = list(csv.DictReader(open(out)))
        for r in rows: r['pool_bicubic_psnr'] = pool_bicubic(pool(pools[r['pool']], int(r['seed'])), dls)
    else:
        make = lambda: TinyUNet(*unet_widths(config))
        epochs, steps = epochs_for(budget, make, False, [], dls, None, 'UNet'), len(tr)
        rows = []
        for name, n in pools.items():
            for seed in seeds:
                x = pool(n, seed)
                pool_dl = DeviceDataLoader(x, torch.zeros(len(x), dtype=torch.int64), tr.bs, shuffle=True, drop_last=True, batch_tfm=tr.batch_tfm, device='cpu')
                run_dls = DataLoaders(Steps(pool_dl, steps), dls.valid)
                _, row = fit('UNet', make, False, [], run_dls, None, epochs, seed)
                rows.append(dict(pool=name, photographs=n if isinstance(n, int) else '', patches=len(x), steps=epochs * steps, **row)); print(rows[-1], flush=True)
        bicubic = fixed_rows(dls)[0]
        for r in rows: r.update(psnr_gain=r['psnr'] - bicubic['psnr'], ssim_gain=r['ssim'] - bicubic['ssim'], budget_s=budget,
                                data='held out: chelsea and coffee (100 patches)', pool_bicubic_psnr=pool_bicubic(pool(pools[r['pool']], r['seed']), dls))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader(); writer.writerows(rows)
    write_atomically(out, lambda f: f.write(text.getvalue().encode()))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--budget', type=float, default=90, help='CPU seconds of training per run (default: %(default)s)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--no-classifier', action='store_true', help='leave out the UNet from a classifier (saves training the classifier)')
    p.add_argument('--out', type=Path, default=Path(__file__).parent.parent/'nbs'/'study'/'superres_peers.csv')
    p.add_argument('--methods', nargs='+', metavar='NAME', help='train only these (default: all)')
    p.add_argument('--add', action='store_true', help="replace these methods' rows in --out, keeping the others")
    p.add_argument('--check', action='store_true', help='run the tests and stop')
    p.add_argument('--default', type=int, metavar='EPOCHS', help='instead, time `tinyimagenet superres --dataset photos --epochs EPOCHS` per seed')
    p.add_argument('--default-out', type=Path, default=Path(__file__).parent.parent/'nbs'/'study'/'superres_default.csv')
    p.add_argument('--perceptual', type=float, nargs='+', metavar='LR', help='instead, the perceptual UNet per epoch at each peak LR, 2 seeds')
    p.add_argument('--perceptual-out', type=Path, default=Path(__file__).parent.parent/'nbs'/'study'/'superres_perceptual.csv')
    p.add_argument('--photo-counts', type=int, nargs='+', metavar='N', help='instead, the UNet trained on N of the training photographs, the same steps each')
    p.add_argument('--more', type=Path, metavar='DIR', help='with --photo-counts: also a folder of other pictures, alone and with the photographs')
    p.add_argument('--fill', action='store_true', help="with --photo-counts: only add the pools' bicubic PSNR to the rows --photo-counts-out holds")
    p.add_argument('--photo-counts-out', type=Path, default=Path(__file__).parent.parent/'nbs'/'study'/'superres_photo_counts.csv')
    args = p.parse_args(argv)
    if args.default: return default_runs(args.default, args.seeds, args.default_out)
    torch.set_num_threads(1)  # one core each for the runs; and CPU time then means one thread's work
    dls = get_superres_dls(config.bs, config.crop, dataset_path('photos'), 'cpu')
    pdls = peer_dls(dls)
    if args.check: return check(dls, pdls)
    if args.photo_counts: return photo_count_runs(args.photo_counts, args.seeds, args.budget, args.more, dls, args.photo_counts_out, args.fill)
    if args.perceptual: return perceptual_runs(args.perceptual, args.seeds[:2], 6, dls, args.perceptual_out)  # the chapter's test-run epochs, where it collapsed
    start, load = time.perf_counter(), os.getloadavg()
    rows = [dict(r, epochs='', cpu_s='', wall_s='', load='') for r in fixed_rows(dls)]
    clf = None if args.no_classifier or (args.methods and 'UNet, from a classifier' not in args.methods) else classifier()
    for name, (make, low_res, cbs) in makers(clf).items():
        if args.methods and name not in args.methods: continue
        epochs = epochs_for(args.budget, make, low_res, cbs, dls, pdls, name)
        for seed in args.seeds:
            _, row = fit(name, make, low_res, cbs, dls, pdls, epochs, seed)
            rows.append(row); print(row, flush=True)
    bicubic = rows[0]
    for r in rows: r.update(psnr_gain=r['psnr'] - bicubic['psnr'], ssim_gain=r['ssim'] - bicubic['ssim'], budget_s=args.budget,
                            data='photos: 11 training photographs, chelsea and coffee held out (100 patches)')
    if args.add:  # the other methods' rows of the file, as they were
        rows = [r for r in csv.DictReader(open(args.out)) if r['method'] not in args.methods] + rows[3:]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[-1]))
    writer.writeheader(); writer.writerows(rows)
    write_atomically(args.out, lambda f: f.write(text.getvalue().encode()))
    print(f'{args.out}: {len(rows)} rows in {time.perf_counter() - start:.0f} s wall; load average at start {load[0]:.2f}, at the end {os.getloadavg()[0]:.2f}')

if __name__ == '__main__': sys.exit(main())
