"""A realistic community of a given size, bulk-loaded into an empty database for the load tests.

Usage (from the project's root)::

    .venv/bin/python benchmarks/generate.py                       # the app's own database
    .venv/bin/python benchmarks/generate.py --scale 0.1           # a tenth of every size
    .venv/bin/python benchmarks/generate.py --database-url sqlite:////tmp/big.db --replace
    .venv/bin/python benchmarks/generate.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:55432/rfp --summary big.json

The default size is 100,000 RFPs, 20,000 members, 300,000 comments, 50,000 claims, 200,000
"I want this plot too", 2,000 presentations and 100 Research Jams; ``--scale`` multiplies every
size and each ``--<size>`` sets one. An empty database gets the real schema from the migrations
(a database whose schema was made another way, empty, is used as it is); one holding data is
refused unless ``--replace`` empties it first.

What is generated, and the shortcuts taken to load it fast:

* Text comes from an ML vocabulary (models, data sets, phenomena, methods, knobs, measures and a
  long tail of niche names) drawn with Zipf-like frequencies: the most common words are in half
  the RFPs, the rarest in a handful. The summary names a common word (the one nearest 40 %) and a
  rare one (nearest 10 RFPs), with the number of RFPs the portal's own search finds for each by
  default (open and completed ones).
* Rendering Markdown costs about 15 ms a text, hours for every RFP and comment, so bodies come
  from pools rendered once with the real renderer (``render_markdown``): about 100 "big
  picture" and 100 "first plot" texts, 200 comments and a few dozen claim notes, progress
  updates and write-ups. Each RFP's big picture starts with its own paragraph of plain words (no
  Markdown syntax, no characters HTML escapes), so its HTML is exactly ``<p>…</p>`` followed by
  the pooled HTML; the generator checks that with the renderer before loading. The stored HTML
  is therefore what the portal itself would have stored.
* Plots: one small plot image is drawn with Pillow, processed by the portal's image pipeline
  (re-encoded, thumbnailed) and written once to the upload folder through ``FileStore``; a quarter
  of the RFPs get an example plot and every delivered result a result plot, all pointing at that
  one file, so listings show thumbnails. ``--upload-folder`` must be the folder the portal under
  test serves (the app's configured one by default).
* Notifications are not generated (the pages under test never list them in bulk).
* Claims are spread so that some are active, some "check-in due" and some expired relative to
  now; nobody holds more than 3 live claims, caps are respected, one claim per person per RFP.
* Rows go in with SQLAlchemy Core ``insert()`` and executemany in batches of 10,000, one
  transaction per table. SQLite loads with ``synchronous=OFF`` (restored after) in WAL mode, with
  foreign key checks off on the loading connection (the rows are consistent by construction).
  PostgreSQL loads with ``COPY … FROM STDIN`` through psycopg's ``cursor.copy()``: at the default
  size it wrote comments, wants and tags 2 to 2.5 times as fast as executemany (which psycopg
  pipelines), 19 s against 41 s for all tables; ``--postgres-load executemany`` keeps the other
  way for comparison. Ids are given explicitly; PostgreSQL's sequences are moved past them.
* Finally the full-text index is rebuilt with ``rfp_portal.search.rebuild_index``, and
  ``ANALYZE`` (plus ``PRAGMA optimize`` on SQLite) gives the planner statistics.

Everyone's password is ``benchmark-password`` (one hash, computed once); ``member00001`` is an
ordinary member, ``member00002`` the admin, and a few others are organisers. The same seed gives
the same community on either database when run on the same day (dates are relative to now, so
claims are "active" or "expired" whenever it runs).

Measured on the 2-core machine at the default size: 31 to 36 s on SQLite (a 1.1 GB file) and
60 to 65 s on PostgreSQL 15, of which 25 to 30 s is ``rebuild_index`` (``to_tsvector`` over
150 MB of Markdown, one statement on one core).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import re
import sys
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from rfp_portal import migrate, search
from rfp_portal.db import Base, make_engine
from rfp_portal.models import (
    Claim,
    ClaimStatus,
    Comment,
    Compute,
    Difficulty,
    Jam,
    ModerationAction,
    ModerationKind,
    Plot,
    PlotKind,
    Presentation,
    ProgressUpdate,
    Rfp,
    RfpState,
    Role,
    Tag,
    User,
    rfp_tags,
    wants,
)
from rfp_portal.rendering.markdown import render_markdown

PASSWORD = "benchmark-password"  # noqa: S105 - published on purpose, for benchmark accounts
BATCH = 10_000
DATA = Path(__file__).resolve().parent / ".data"  # never committed (.gitignore)
DAY = 86_400.0

DEFAULTS = {
    "rfps": 100_000,
    "members": 20_000,
    "comments": 300_000,
    "claims": 50_000,
    "jams": 100,
    "wants": 200_000,
    "presentations": 2_000,
}

# -- the vocabulary ---------------------------------------------------------------------------
# Plain words only (letters, digits, spaces, '-', '.', '/'): they go into the per-RFP paragraph,
# whose HTML is made without the renderer (checked at import below).

MODELS = """
ResNet-18|ResNet-50|ResNet|WideResNet|VGG-16|DenseNet|MobileNet|EfficientNet|ConvNeXt|AlexNet|LeNet
ViT|ViT-B/16|Swin Transformer|DeiT|MLP-Mixer|Transformer|GPT-2|GPT-2 small|nanoGPT|BERT|DistilBERT
RoBERTa|T5|Pythia|OPT|Llama|TinyLlama|LSTM|GRU|vanilla RNN|U-Net|VAE|GAN|StyleGAN|DCGAN
diffusion model|DDPM|score model|normalizing flow|autoencoder|sparse autoencoder|two-layer MLP
deep linear network|random features model|kernel machine|graph neural network|GCN|GAT
PointNet|WaveNet|CLIP|SimCLR|BYOL|DINO|masked autoencoder|decision transformer|PPO agent
DQN agent|world model|neural ODE|Hopfield network|capsule network|mixture of experts
one-layer transformer|attention-only transformer|CNN|MLP|tiny transformer|Siamese network
""".replace("\n", "|")
DATASETS = """
CIFAR-10|CIFAR-100|MNIST|Fashion-MNIST|SVHN|ImageNet|Tiny ImageNet|ImageNet-1k|STL-10|CelebA
LSUN|Places365|COCO|Pascal VOC|Cityscapes|Oxford Flowers|Food-101|CUB-200|Omniglot|EMNIST|KMNIST
WikiText-103|WikiText-2|C4|OpenWebText|TinyStories|The Pile|BookCorpus|SST-2|IMDb|AG News|GLUE
SuperGLUE|SQuAD|MMLU|GSM8K|HumanEval|LibriSpeech|Speech Commands|ESC-50|MovieLens|Cora|PubMed
QM9|Atari|Procgen|MuJoCo|CartPole|MiniGrid|modular addition|sparse parity|synthetic Gaussians
teacher-student data|random labels|two moons|Shakespeare|enwik8|text8|Penn Treebank
""".replace("\n", "|")
PHENOMENA = """
grokking|double descent|catastrophic forgetting|mode connectivity|neural collapse
loss of plasticity|edge of stability|lottery tickets|superposition|in-context learning
emergent abilities|simplicity bias|spectral bias|memorization|benign overfitting|shortcut learning
dead neurons|rank collapse|attention sinks|massive activations|induction heads|loss spikes
representation drift|feature learning|lazy training|the neural tangent kernel regime
scaling laws|sharpness|flat minima|gradient starvation|dimensional collapse|posterior collapse
mode collapse|label noise robustness|calibration drift|adversarial vulnerability|weight symmetry
layer redundancy|critical learning periods|progressive sharpening|saddle points|plateaus
slingshot effect|oversmoothing|oversquashing|reward hacking|primacy bias|forgetting curves
data pruning gains|curriculum effects|warmup necessity|catapult dynamics|feature reuse
linear mode connectivity|weight decay equilibrium|norm growth|outlier features|token collapse
position bias|length generalization|compositional generalization|out-of-distribution failure
""".replace("\n", "|")
METHODS = """
dropout|weight decay|batch normalization|layer normalization|data augmentation|mixup|cutout
label smoothing|knowledge distillation|pruning|quantization|low-rank adaptation|LoRA
gradient clipping|learning-rate warmup|cosine decay|early stopping|weight averaging|model soups
stochastic weight averaging|an exponential moving average|sharpness-aware minimization
contrastive learning|self-distillation|fine-tuning|linear probing|prompt tuning|adapter layers
curriculum learning|data pruning|active learning|importance sampling|gradient accumulation
mixed precision|gradient checkpointing|residual connections|skip connections|attention dropout
random crops|RandAugment|AutoAugment|CutMix|test-time augmentation|ensembling|Monte Carlo dropout
Bayesian last layers|temperature scaling|focal loss|spectral normalization|weight normalization
orthogonal initialization|zero initialization|rotary embeddings|ALiBi|sparse attention
linear attention|flash attention|tied embeddings|weight sharing|magnitude pruning
iterative magnitude pruning|structured pruning|early exit|reinitialization|shrink and perturb
replay buffers|elastic weight consolidation|SGD with momentum|Adam|AdamW|RMSProp|plain SGD
natural gradient|second-order methods|line search|learning-rate finders|cyclic learning rates
""".replace("\n", "|")
KNOBS = """
learning rate|batch size|width|depth|weight decay strength|warmup length|number of heads
embedding dimension|dataset size|sequence length|sampling temperature|dropout rate|momentum
Adam beta2|Adam epsilon|initialization scale|number of epochs|context length|vocabulary size
label noise rate|model size|compute budget|training steps|sparsity|number of experts|patch size
image resolution|noise level|number of classes|data repetition|tokenizer choice|random seed
gradient noise|parameter count|hidden size|kernel size|augmentation strength|regularization strength
""".replace("\n", "|")
MEASURES = """
test accuracy|validation loss|training loss|calibration error|effective rank|gradient norm
Hessian trace|top Hessian eigenvalue|weight norm|CKA similarity|attention entropy|perplexity
generalization gap|time to convergence|robust accuracy|FID|BLEU|ECE|mutual information
representation similarity|loss curvature|parameter distance from init|feature rank|margin
number of dead units|linear probe accuracy|forgetting rate|episode return|sample efficiency
memorization score|influence scores|gradient alignment|activation sparsity|logit norm
""".replace("\n", "|")
# The long tail: names only a few RFPs mention. The rare word of the summary comes from here.
NICHE = """
Adafactor|Shampoo|Sophia|Lion|LAMB|LARS|Lookahead|RAdam|AdaBelief|NovoGrad|Prodigy|Muon|SOAP
Perceiver|Hyena|RWKV|Mamba|RetNet|xLSTM|Hopfield|Kolmogorov-Arnold networks|SIREN|NeRF|HyperNetworks
muP|DoReMi|Chinchilla|Gopher|Galactica|Minerva|Flamingo|Gato|Sparrow|Zephyr|Mistral|Falcon
Reptile|MAML|ProtoNets|SwAV|VICReg|Barlow Twins|MoCo|SimSiam|iBOT|DINOv2|EVA|BEiT|ConvMixer
PoolFormer|MetaFormer|gMLP|ResMLP|FNet|Nystromformer|Performer|Linformer|Longformer|BigBird
Reformer|Synthesizer|Routing Transformer|Switch Transformer|GShard|BASE layers|Hash layers
Expert Choice|SparseGPT|Wanda|GPTQ|AWQ|SmoothQuant|QLoRA|DoRA|VeRA|IA3|BitFit|Prefix-Tuning
Distill-and-Select|Deep Ensembles|SWAG|Laplace Redux|SNGP|DUQ|Evidential Networks|Mixout
Shrinkformer|Gradfree|Tsallis|Wasserstein|Sinkhorn|Procrustes|Grassmann|Stiefel|Riemannian
Lipschitz|Hutchinson|Lanczos|Nesterov|Polyak|Kaczmarz|Chebyshev|Koopman|Fokker-Planck
Langevin|Metropolis|Gibbs|Boltzmann|Ising|Hebbian|Oja|Kohonen|Rosenblatt|Widrow-Hoff
""".replace("\n", "|")
CATEGORIES = {
    "model": MODELS,
    "data": DATASETS,
    "phenomenon": PHENOMENA,
    "method": METHODS,
    "knob": KNOBS,
    "measure": MEASURES,
    "niche": NICHE,
}
VOCABULARY = {name: [t for t in text.split("|") if t] for name, text in CATEGORIES.items()}
PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]*$")
assert all(PLAIN.match(t) for terms in VOCABULARY.values() for t in terms)

GENERIC_TAGS = """
beginner friendly|reproduction|theory|vision|nlp|reinforcement learning|optimization|generative models
interpretability|robustness|efficiency|scaling|self-supervised learning|continual learning
meta-learning|speech|graphs|recommendation|audio|science|fairness|privacy|federated learning
evaluation|benchmarks|training dynamics|generalization|uncertainty|compression|architecture
initialization|regularization|data|loss landscape|representation learning|transfer learning
small compute|one afternoon|needs a cluster|negative results welcome|toy models|sanity check
""".replace("\n", "|")
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9+#.\- ]*$")


def _names(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _names("""
Ada Alan Amara Ana Anil Aya Ben Bo Carla Chen Chidi Dana Daniel Dmitri Elena Emeka Eva Farah Felix
Fatima Gabriel Grace Hana Hiro Ines Ivan Jamal Jia Jonas Juan Kai Kemal Lara Leila Li Lucas Maria
Mateo Mei Mina Mohammed Nadia Nia Noah Olga Omar Pablo Priya Quinn Rafael Ravi Rosa Sam Sara Sofia
Tariq Tom Uma Valentina Wei Xin Yara Yusuf Zainab Zoe Aditya Bianca Cyrus Divya Erik Freya Goran
""")
LAST_NAMES = _names("""
Okafor Tanaka Gomez Nguyen Smith Kumar Chen Garcia Muller Rossi Silva Kowalski Ivanova Haddad Kim
Park Singh Patel Ali Hassan Novak Jensen Larsen Dubois Moreau Costa Santos Ferreira Yilmaz Demir
Mensah Owusu Adeyemi Abebe Mwangi Wang Li Zhang Liu Sato Suzuki Ito Nakamura Cohen Levi Katz Brown
Taylor Wilson Martin Lopez Hernandez Perez Sanchez Romero Alvarez Torres Ramos Ortiz Fischer Weber
""")

# -- sentences --------------------------------------------------------------------------------
# Slots: {model} {data} {phenomenon} {phenomenon2} {method} {method2} {knob} {measure} {niche}.

TITLES = [
    "Does {phenomenon} show up in {model} trained on {data}?",
    "How does {knob} change {phenomenon} in {model}?",
    "{Method} versus {phenomenon}: one plot on {data}",
    "Where does {phenomenon} break down as {knob} grows?",
    "{Measure} against {knob} for {model} on {data}",
    "Is {phenomenon} just {method} in disguise?",
    "Plot {measure} through training with and without {method}",
    "When does {method} stop helping {model} on {data}?",
    "{Phenomenon} at small scale: {model} on {data}",
    "Does {method} delay {phenomenon}?",
    "What {knob} makes {phenomenon} appear on {data}?",
    "Tracking {measure} during {phenomenon} in a {model}",
    "Do {model} and {model2} agree on {phenomenon}?",
    "A cheap test of {phenomenon} with {method}",
]
SUMMARIES = [
    "A plot of {measure} against {knob} for {model} on {data}, with and without {method}.",
    "One figure: {measure} over training steps, coloured by {knob}, to see when {phenomenon} starts.",
    "Compare {model} and {model2} on {data} and mark where {phenomenon} appears.",
    "Sweep {knob} and plot {measure}; I expect {phenomenon} to shift with {method}.",
    "Does {phenomenon} survive {method}? A single plot of {measure} on {data} would tell.",
    "Plot {measure} for {model} on {data} as {knob} varies, one line per setting of {method}.",
]
LEADS = [
    "{Phenomenon} has been reported for {model} on {data}, but nobody seems to have checked how it depends on {knob}.",
    "If {method} removes {phenomenon}, that tells us something about what {measure} really tracks.",
    "My guess is that {knob} matters more than {method} here, and one plot could settle it.",
    "People often blame {phenomenon2} for this, yet the effect also shows up with {method2}.",
    "This should run on one GPU in an afternoon with {model} and {data}.",
    "Related work on {niche} suggests the effect is real but smaller than it looks.",
    "The question came up at a Research Jam while we were discussing {phenomenon2}.",
    "A clean answer would help anyone choosing {knob} for {model} on a small budget.",
    "I tried a quick version with {method} and saw {measure} move in the wrong direction.",
    "{Measure} is cheap to log every few hundred steps, so the plot needs no extra training runs.",
]
COMMENTS = [
    "I tried this with {method} on {data} and saw {phenomenon} after about {n} epochs.",
    "+1, I would love to see this for {model} too.",
    "Have you seen [this paper](https://arxiv.org/abs/{arxiv})? They plot {measure} against {knob}.",
    "Quick question: what range of {knob} do you have in mind? `lr` from `1e-4` to `1e-1`?",
    "The loss I would track is $\\frac{{1}}{{N}}\\sum_i \\ell_i$ on a held-out split.",
    "I can share a notebook that logs **{measure}** every {n} steps.",
    "Careful with {method}: it changes {knob} implicitly, so the comparison is not fair.",
    "Nice idea! In my runs {phenomenon} disappeared once I added {method2}.",
    "Would a log scale on the x axis make the bend easier to see?",
    "Claimed something similar last year; happy to help whoever picks this up.",
    "Here is a sketch of the setup:\n\n```python\nfor {short} in sweep:\n    train(model, {short}={short})\n```",
    "- baseline: {model}\n- variant: {model} with {method}\n- metric: {measure}",
    "I think $\\beta_2 = 0.95$ is the usual choice here, not `0.999`.",
    "This would make a great first project for someone new to {phenomenon}.",
]
UPDATES = [
    "Baseline runs of {model} on {data} are done; {measure} looks as expected.",
    "Swept {knob} over {n} values. The plot is taking shape, *see the notebook*.",
    "Hit a snag: {method} makes training unstable at large {knob}. Trying warmup.",
    "Halfway there. First curves of {measure} are in [the repo](https://github.com/example/rfp-{n}).",
]
WRITE_UPS = [
    "The plot shows {measure} against {knob} for {model} on {data}. {Phenomenon} appears once {knob} passes a threshold, and **{method}** moves it later.",
    "Short version: no effect. Across {n} seeds the curves overlap within noise, so {phenomenon} is not what drives {measure} here.",
    "I reproduced the setup with {model} and found a clear bend. Code, logs and the figure are linked; the main caveat is that only {data} was tried.",
]
NOTES = [
    "I'll start with {model} on {data}.",
    "Working on this with a friend from the Discord.",
    "Planning to use {method}; will post progress weekly.",
    "",
]
MATH = [
    "$\\eta \\propto B$",
    "$L(N) \\approx (N_c / N)^{\\alpha}$",
    "$\\mathrm{Tr}(H)$",
    "$\\lambda_{\\max}(H) \\approx 2 / \\eta$",
    "$x \\in \\mathbb{R}^d$",
    "$\\frac{1}{N}\\sum_{i=1}^N \\ell(f_\\theta(x_i), y_i)$",
    "$p(y \\mid x)$",
    "$O(n^2)$",
    "$\\sigma(Wx + b)$",
    "$\\|\\nabla L\\|$",
]


LEADS_WITHOUT_NICHE = [s for s in LEADS if "{niche}" not in s]


def _check_plain_templates() -> None:
    """The per-RFP paragraph is made of these sentences and the vocabulary: plain words only."""
    for template in LEADS:
        text = re.sub(r"\{\w+\}", "X", template)
        assert re.match(r"^[A-Z][A-Za-z0-9 ,./-]*$", text), template


_check_plain_templates()


# -- sampling ---------------------------------------------------------------------------------


class Zipf:
    """Items drawn with weight 1 / (rank + q) ** s, ranks in a seeded shuffled order."""

    def __init__(self, items: Sequence[str], rng: random.Random, s: float, q: float = 0.0):
        self.items = list(items)
        rng.shuffle(self.items)
        self.cum = list(_cumulative((rank + q) ** -s for rank in range(1, len(self.items) + 1)))
        self.rng = rng

    def __call__(self) -> str:
        return self.items[bisect_right(self.cum, self.rng.random() * self.cum[-1])]

    def head(self, k: int) -> Callable[[], str]:
        """A sampler over the ``k`` most common items only (for pooled texts, shared by many RFPs)."""
        items, cum = self.items[:k], self.cum[:k]
        return lambda: items[bisect_right(cum, self.rng.random() * cum[-1])]


def _cumulative(weights: Iterable[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def _pick(cum: list[float], limit: int, rng: random.Random) -> int:
    """An index below ``limit`` drawn with the weights whose running sums are ``cum``."""
    return bisect_right(cum, rng.random() * cum[limit - 1], 0, limit - 1)


def _capitalised(slots: dict[str, str]) -> dict[str, str]:
    """The slots, plus each under a capitalised name with its value capitalised (sentence starts)."""
    return {**slots, **{k[0].upper() + k[1:]: v[:1].upper() + v[1:] for k, v in slots.items()}}


# -- sizes, timings, the summary --------------------------------------------------------------


@dataclass
class Sizes:
    rfps: int
    members: int
    comments: int
    claims: int
    jams: int
    wants: int
    presentations: int

    @classmethod
    def scaled(cls, scale: float = 1.0, **given: int | None) -> Sizes:
        minimum = {"members": 20, "jams": 12}  # a year of Jams, so some have presentations
        values = {
            name: given.get(name)
            if given.get(name) is not None
            else max(minimum.get(name, 0), round(default * scale))
            for name, default in DEFAULTS.items()
        }
        return cls(**values)


@dataclass
class Timings:
    phases: list[tuple[str, float, int]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    log: Callable[[str], None] = print

    @contextmanager
    def phase(self, name: str) -> Iterator[SimpleNamespace]:
        """Time the block and print a line for it; the block may set ``.rows`` on what it gets."""
        counted = SimpleNamespace(rows=0)
        start = time.perf_counter()
        yield counted
        seconds = time.perf_counter() - start
        self.phases.append((name, seconds, counted.rows))
        rows = (
            f"{counted.rows:>10,} rows  {counted.rows / seconds:>10,.0f} rows/s"
            if counted.rows
            else ""
        )
        self.log(f"  {name:<28} {seconds:7.2f} s {rows}")

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started


# -- the plan: who did what when (no text yet) ------------------------------------------------


def _ts(dt: datetime) -> float:
    return dt.timestamp()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _jam_start(number: int) -> datetime:
    """Research Jam ``number``: the last Wednesday of its month at 4 pm Pacific, from March 2021."""
    zone = ZoneInfo("America/Los_Angeles")
    month_index = 2021 * 12 + 2 + number - 1  # March 2021 is #1
    year, month = divmod(month_index, 12)
    month += 1
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    last = datetime(next_year, next_month, 1) - timedelta(days=1)
    last -= timedelta(days=(last.weekday() - 2) % 7)  # back to a Wednesday
    return datetime(last.year, last.month, last.day, 16, tzinfo=zone).astimezone(UTC)


@dataclass
class Plan:
    now: float
    start: float
    user_times: list[float]
    user_cum: list[float]  # activity: some people post and claim far more than others
    roles: dict[int, Role]
    deactivated: dict[int, float]
    rfp_times: list[float]
    rfp_updated: list[float]
    rfp_state: list[RfpState]
    rfp_author: list[int]
    rfp_topics: list[dict[str, str]]
    rfp_tags: list[list[int]]
    rfp_cap: list[int | None]
    rfp_plot: list[bool]
    withdrawn_by: dict[int, int]  # rfp index -> organiser who withdrew it (else the author did)
    popularity_cum: list[float]
    tags: list[str]
    special_rfp: int | None  # the RFP with exactly 50 visible comments (index)
    term_rfps: Counter = field(default_factory=Counter)
    want_count: list[int] = field(default_factory=list)


class Planner:
    def __init__(self, sizes: Sizes, rng: random.Random, now: datetime) -> None:
        self.sizes = sizes
        self.rng = rng
        self.now = _ts(now)
        first_jam = _ts(_jam_start(1)) - 30 * DAY
        self.start = min(self.now - 5 * 365 * DAY, first_jam)
        self.zipf = {
            "model": Zipf(VOCABULARY["model"], rng, 1.1),
            "data": Zipf(VOCABULARY["data"], rng, 1.1),
            "phenomenon": Zipf(VOCABULARY["phenomenon"], rng, 1.1),
            "method": Zipf(VOCABULARY["method"], rng, 1.1),
            "knob": Zipf(VOCABULARY["knob"], rng, 1.0),
            "measure": Zipf(VOCABULARY["measure"], rng, 1.0),
            "niche": Zipf(VOCABULARY["niche"], rng, 1.35),
        }

    def _growth(self, u: float) -> float:
        """A moment in the community's life; more happens later, as it grows."""
        return self.start + (self.now - self.start) * u**0.6

    def plan(self) -> Plan:
        rng, sizes = self.rng, self.sizes
        n_users = sizes.members
        user_times = [
            self._growth((i + 0.5) / n_users) - rng.random() * DAY for i in range(n_users)
        ]
        user_times.sort()
        user_times[0] = self.start - DAY
        activity = [rng.lognormvariate(0, 1.3) for _ in range(n_users)]
        roles = {2: Role.ADMIN}
        for uid in range(3, n_users + 1, max(1, n_users // 12)):
            roles.setdefault(uid, Role.ORGANISER)
        deactivated = {}
        for uid in rng.sample(range(21, n_users + 1), min(max(0, n_users - 20), n_users // 300)):
            deactivated[uid] = user_times[uid - 1] + (self.now - user_times[uid - 1]) * rng.random()

        tags = self._tags()
        tag_zipf = Zipf(list(range(1, len(tags) + 1)), rng, 1.05, 2.0)
        tag_of_term = {name: i + 1 for i, name in enumerate(tags)}

        n = sizes.rfps
        times = sorted(
            max(user_times[0] + DAY, self._growth(rng.random())) - rng.random() * 3600
            for _ in range(n)
        )
        times = [min(t, self.now - 60) for t in times]
        plan = Plan(
            now=self.now,
            start=self.start,
            user_times=user_times,
            user_cum=list(_cumulative(activity)),
            roles=roles,
            deactivated=deactivated,
            rfp_times=times,
            rfp_updated=[],
            rfp_state=[],
            rfp_author=[],
            rfp_topics=[],
            rfp_tags=[],
            rfp_cap=[],
            rfp_plot=[],
            withdrawn_by={},
            popularity_cum=[],
            tags=tags,
            special_rfp=None,
        )
        organisers = list(roles)  # the admin and the organisers
        popularity = []
        for i, t in enumerate(times):
            plan.rfp_author.append(self.user_at(plan, t))
            topics = {name: sampler() for name, sampler in self.zipf.items() if name != "niche"}
            topics["model2"] = self.zipf["model"]()
            topics["phenomenon2"] = self.zipf["phenomenon"]()
            topics["method2"] = self.zipf["method"]()
            topics["niche"] = self.zipf["niche"]() if rng.random() < 0.2 else ""
            plan.rfp_topics.append(topics)
            plan.term_rfps.update(set(topics.values()) - {""})
            chosen = {tag_zipf() for _ in range(rng.choice((1, 1, 2, 2, 3, 3, 4, 5)))}
            own = tag_of_term.get(topics["phenomenon"].lower())
            if own and rng.random() < 0.5:
                chosen.add(own)
            plan.rfp_tags.append(sorted(chosen)[:5])
            plan.rfp_cap.append(None if rng.random() < 0.6 else rng.choice((1, 1, 2, 2, 3, 5)))
            plan.rfp_plot.append(rng.random() < 0.25)
            age = self.now - t
            roll = rng.random()
            if roll < 0.15 and age > 10 * DAY:
                state = RfpState.COMPLETED  # its accepted result is planned with the claims
            elif roll > 0.95 and age > 2 * DAY:
                state = RfpState.WITHDRAWN
            else:
                state = RfpState.OPEN
            plan.rfp_state.append(state)
            updated = t + (age * rng.random() ** 3 if rng.random() < 0.4 else 0.0)
            if state is RfpState.WITHDRAWN:
                updated = t + age * (0.05 + 0.9 * rng.random())
                if rng.random() < 0.3:
                    plan.withdrawn_by[i] = rng.choice(organisers)
            plan.rfp_updated.append(updated)
            weight = rng.lognormvariate(0, 1.3)
            popularity.append(weight * (0.3 if state is RfpState.WITHDRAWN else 1.0))
        plan.popularity_cum = list(_cumulative(popularity))
        if sizes.comments >= 50 and n:
            # An open RFP about a year old (or the oldest open one), known to the benchmark.
            target = self.now - 365 * DAY
            candidates = (
                [i for i in range(n) if plan.rfp_state[i] is RfpState.OPEN and times[i] <= target]
                or [i for i in range(n) if plan.rfp_state[i] is RfpState.OPEN]
                or [0]
            )
            plan.special_rfp = candidates[-1]
            plan.rfp_state[plan.special_rfp] = RfpState.OPEN
        return plan

    def _tags(self) -> list[str]:
        terms = [
            t.lower()
            for name in ("phenomenon", "method", "model", "data", "knob")
            for t in VOCABULARY[name]
        ]
        terms = [t for t in dict.fromkeys(terms) if len(t) <= 30 and TAG_PATTERN.match(t)]
        self.rng.shuffle(terms)
        generic = [t for t in GENERIC_TAGS.split("|") if t]
        return list(dict.fromkeys(generic + terms))[:300]

    def user_at(self, plan: Plan, t: float, cum: list[float] | None = None) -> int:
        """A member who had joined by ``t`` (1-based id), the active ones more often."""
        limit = max(1, bisect_right(plan.user_times, t))
        return _pick(cum or plan.user_cum, limit, self.rng) + 1


# -- claims, comments, wants, presentations ---------------------------------------------------


@dataclass
class ClaimRow:
    id: int
    rfp: int  # index
    claimant: int
    status: ClaimStatus
    created: float
    last_activity: float
    ended: float | None = None
    accepted: float | None = None
    result_plot: int | None = None
    updates: list[float] = field(default_factory=list)


def plan_claims(planner: Planner, plan: Plan, total: int) -> list[ClaimRow]:
    rng, now = planner.rng, plan.now
    n = len(plan.rfp_times)
    claims: list[ClaimRow] = []
    pairs: set[tuple[int, int]] = set()
    live_of_user: Counter = Counter()
    live_on_rfp: Counter = Counter()
    expires_before = now - 30 * DAY

    def claimant_for(i: int, t: float) -> int | None:
        for _ in range(20):
            uid = planner.user_at(plan, t)
            if uid != plan.rfp_author[i] and (i, uid) not in pairs and uid not in plan.deactivated:
                return uid
        return None

    def add(i: int, uid: int, status: ClaimStatus, created: float, last: float, **kw) -> ClaimRow:
        claim = ClaimRow(len(claims) + 1, i, uid, status, created, last, **kw)
        claims.append(claim)
        pairs.add((i, uid))
        return claim

    # Every completed RFP has the delivered result its author accepted.
    for i in range(n):
        if len(claims) >= total:
            break
        if plan.rfp_state[i] is not RfpState.COMPLETED:
            continue
        age = now - plan.rfp_times[i]
        created = plan.rfp_times[i] + min(60 * DAY, age / 3) * rng.random()
        uid = claimant_for(i, created)
        if uid is None:
            plan.rfp_state[i] = RfpState.OPEN
            continue
        ended = created + (now - created) * (0.1 + 0.5 * rng.random())
        accepted = ended + min(14 * DAY, (now - ended) / 2) * rng.random()
        claim = add(i, uid, ClaimStatus.DELIVERED, created, ended, ended=ended, accepted=accepted)
        claim.updates = sorted(created + (ended - created) * rng.random() for _ in range(2))
        plan.rfp_updated[i] = max(plan.rfp_updated[i], accepted)
    accepted_count = len(claims)
    # Completed RFPs left without a result (when there are fewer claims than that) stay open.
    completed = {c.rfp for c in claims}
    for i in range(n):
        if plan.rfp_state[i] is RfpState.COMPLETED and i not in completed:
            plan.rfp_state[i] = RfpState.OPEN

    rest = total - accepted_count
    quotas = [
        ("live", round(rest * 0.14)),  # active, last activity within 21 days
        ("due", round(rest * 0.04)),  # active, 21 to 30 days: "check-in due"
        ("expired", round(rest * 0.05)),  # active, more than 30 days: counts as expired
        ("delivered", round(rest * 0.10)),
    ]
    quotas.append(("dropped", rest - sum(q for _, q in quotas)))
    for kind, quota in quotas:
        made, attempts = 0, 0
        while made < quota and attempts < quota * 20 + 100:
            attempts += 1
            if kind in ("live", "due", "expired"):
                # Days since the last activity, clear of the 21- and 30-day lines so a benchmark
                # run a day later still sees the same mix.
                back = {"live": (0, 19), "due": (22, 28), "expired": (32, 400)}[kind]
                last = now - (back[0] + (back[1] - back[0]) * rng.random()) * DAY - 60
                limit = bisect_right(plan.rfp_times, last)
                if not limit:
                    continue
                i = _pick(plan.popularity_cum, limit, rng)
                if plan.rfp_state[i] is not RfpState.OPEN:
                    continue
                live = kind != "expired"
                cap = plan.rfp_cap[i]
                if live and cap is not None and live_on_rfp[i] >= cap:
                    continue
                uid = claimant_for(i, last)
                if uid is None or (live and live_of_user[uid] >= 3):
                    continue
                earliest = max(plan.rfp_times[i], plan.user_times[uid - 1]) + 60
                created = max(earliest, last - 60 * DAY * rng.random())
                claim = add(i, uid, ClaimStatus.ACTIVE, created, last)
                if last - created > 3600:
                    claim.updates = [last]
                if live:
                    live_of_user[uid] += 1
                    live_on_rfp[i] += 1
                assert live == (last >= expires_before)
            else:
                i = _pick(plan.popularity_cum, n, rng)
                end_by = plan.rfp_updated[i] if plan.rfp_state[i] is RfpState.WITHDRAWN else now
                if end_by - plan.rfp_times[i] < 2 * DAY:
                    continue
                if kind == "delivered" and plan.rfp_state[i] is RfpState.WITHDRAWN:
                    continue
                created = plan.rfp_times[i] + (end_by - plan.rfp_times[i]) * rng.random() ** 2 * 0.9
                uid = claimant_for(i, created)
                if uid is None:
                    continue
                created = max(created, plan.user_times[uid - 1] + 60)
                ended = created + (end_by - created) * rng.random() * 0.5
                if kind == "delivered":
                    claim = add(i, uid, ClaimStatus.DELIVERED, created, ended, ended=ended)
                    claim.updates = [created + (ended - created) * rng.random()]
                else:
                    add(i, uid, ClaimStatus.DROPPED, created, created, ended=ended)
            made += 1
    return claims


@dataclass
class CommentRow:
    rfp: int
    author: int
    created: float
    edited: float | None = None
    deleted: float | None = None
    hidden: float | None = None
    hidden_by: int | None = None
    pool: int = 0


def plan_comments(planner: Planner, plan: Plan, total: int, pool_size: int) -> list[CommentRow]:
    rng, now = planner.rng, plan.now
    n = len(plan.rfp_times)
    if not n:
        return []
    organisers = sorted(plan.roles)
    comments: list[CommentRow] = []
    special = plan.special_rfp
    cum = plan.popularity_cum
    if special is not None:
        # No random comment lands on the special RFP: it gets exactly 50, all visible.
        weights = [cum[0]] + [cum[i] - cum[i - 1] for i in range(1, n)]
        weights[special] = 0.0
        cum = list(_cumulative(weights))
        start = plan.rfp_times[special]
        for k in range(50):
            t = start + (now - start) * (k + rng.random()) / 51
            comments.append(
                CommentRow(special, planner.user_at(plan, t), t, pool=rng.randrange(pool_size))
            )
    for i in rng.choices(range(n), cum_weights=cum, k=max(0, total - len(comments))):
        end = plan.rfp_updated[i] if plan.rfp_state[i] is RfpState.WITHDRAWN else now
        t = plan.rfp_times[i] + (end - plan.rfp_times[i]) * rng.random() ** 2.5
        author = plan.rfp_author[i] if rng.random() < 0.15 else planner.user_at(plan, t)
        row = CommentRow(i, author, t, pool=rng.randrange(pool_size))
        roll = rng.random()
        if roll < 0.003:
            row.hidden = min(now, t + 3 * DAY * rng.random())
            row.hidden_by = rng.choice(organisers)
        elif roll < 0.013:
            row.deleted = min(now, t + 7 * DAY * rng.random())
        elif roll < 0.06:
            row.edited = min(now, t + DAY * rng.random())
        comments.append(row)
    comments.sort(key=lambda c: c.created)
    return comments


def plan_wants(planner: Planner, plan: Plan, total: int) -> list[tuple[int, int, float]]:
    """(rfp index, user id, when): nobody wants their own RFP, twice, or a withdrawn one."""
    rng, now = planner.rng, plan.now
    n, n_users = len(plan.rfp_times), len(plan.user_times)
    weights = [plan.popularity_cum[0]] + [
        plan.popularity_cum[i] - plan.popularity_cum[i - 1] for i in range(1, n)
    ]
    for i in range(n):
        if plan.rfp_state[i] is RfpState.WITHDRAWN:
            weights[i] = 0.0
    if not n or not any(weights):
        return []
    cum = list(_cumulative(weights))
    total = min(total, sum(1 for w in weights if w) * (n_users - 1))
    seen: set[tuple[int, int]] = set()
    rows = []
    plan.want_count = [0] * n
    attempts = 0
    while len(rows) < total and attempts < total * 10:
        attempts += 1
        i = bisect_right(cum, rng.random() * cum[-1])
        uid = rng.randrange(1, n_users + 1)
        if uid == plan.rfp_author[i] or (i, uid) in seen:
            continue
        seen.add((i, uid))
        earliest = max(plan.rfp_times[i], plan.user_times[uid - 1])
        rows.append((i, uid, earliest + (now - earliest) * rng.random() ** 2))
        plan.want_count[i] += 1
    return rows


def plan_jams(planner: Planner, plan: Plan, n_jams: int, n_presentations: int):
    """Jams (number, start) and presentations (rfp index, jam number, position, created)."""
    rng, now = planner.rng, plan.now
    jams = [(number, _ts(_jam_start(number))) for number in range(1, n_jams + 1)]
    past = [(number, t) for number, t in jams if t < now]
    presentations = []
    seen: set[tuple[int, int]] = set()
    if past and plan.rfp_times:
        attempts = 0
        while len(presentations) < n_presentations and attempts < n_presentations * 20:
            attempts += 1
            number, t = rng.choice(past)
            hi = bisect_right(plan.rfp_times, t - DAY)
            lo = bisect_right(plan.rfp_times, t - 120 * DAY)
            if hi <= lo:
                continue
            i = rng.randrange(lo, hi)
            if (i, number) in seen:
                continue
            seen.add((i, number))
            created = max(plan.rfp_times[i] + 60, t - 20 * DAY * rng.random())
            presentations.append([i, number, 0, created])
    presentations.sort(key=lambda p: (p[1], p[3]))
    position: Counter = Counter()
    for p in presentations:
        p[2] = position[p[1]]
        position[p[1]] += 1
    return jams, presentations


# -- texts ------------------------------------------------------------------------------------


@dataclass
class Pool:
    md: list[str]
    html: list[str]

    @classmethod
    def rendered(cls, texts: list[str]) -> Pool:
        return cls(texts, [render_markdown(text) for text in texts])


class Writer:
    """Per-RFP text (title, summary, a paragraph of plain words) and the pooled Markdown."""

    def __init__(self, planner: Planner, rng: random.Random) -> None:
        self.rng = rng
        self.heads = {name: z.head(12) for name, z in planner.zipf.items() if name != "niche"}

    # The per-RFP texts take ``slots``: an RFP's topics through _capitalised, made once per RFP.

    def title(self, slots: dict[str, str]) -> str:
        text = self.rng.choice(TITLES).format(**slots)
        return text if len(text) <= 140 else text[:139].rstrip() + "?"

    def summary(self, slots: dict[str, str]) -> str:
        text = self.rng.choice(SUMMARIES).format(**slots)
        return text[:280]

    def lead(self, slots: dict[str, str]) -> str:
        """Plain words only: rendered, this is exactly ``<p>`` + the text + ``</p>``."""
        sentences = LEADS if slots["niche"] else LEADS_WITHOUT_NICHE
        chosen = self.rng.sample(sentences, self.rng.randint(2, 4))
        if slots["niche"] and LEADS[5] not in chosen:
            chosen[-1] = LEADS[5]
        return " ".join(s.format(**slots) for s in chosen)

    def _head_slots(self) -> dict[str, str]:
        slots = {name: sample() for name, sample in self.heads.items()}
        slots.update(
            model2=self.heads["model"](),
            phenomenon2=self.heads["phenomenon"](),
            method2=self.heads["method"](),
            n=str(self.rng.choice((3, 5, 10, 20, 50, 100, 200, 500))),
            arxiv=f"{self.rng.randint(18, 25)}{self.rng.randint(1, 12):02d}.{self.rng.randint(1000, 29999):05d}",
            short=self.rng.choice(("lr", "width", "seed", "depth")),
            niche="",
        )
        return _capitalised(slots)

    def big_picture(self, length: int) -> str:
        rng = self.rng
        parts = []
        while sum(map(len, parts)) < length:
            s = self._head_slots()
            kind = rng.random()
            if not parts:
                parts.append(
                    f"*{s['Phenomenon']}* is easy to name and hard to pin down. "
                    f"[Earlier work](https://arxiv.org/abs/{s['arxiv']}) saw it in {s['model']} "
                    f"on {s['data']}, with {MATH[rng.randrange(len(MATH))]} as the key quantity."
                )
            elif kind < 0.25:
                parts.append(
                    rng.choice(("### Why it matters", "### Background", "### What we know"))
                )
            elif kind < 0.45:
                parts.append(
                    f"- {s['Method']} changes {s['knob']}\n- {s['Method2']} changes "
                    f"{s['measure']}\n- nobody has plotted both on **{s['data']}**"
                )
            elif kind < 0.55:
                parts.append(
                    f"| setting | {s['measure']} |\n|---|---|\n| {s['method']} | ? |\n"
                    f"| {s['method2']} | ? |"
                )
            elif kind < 0.62:
                parts.append(
                    f"```python\nmodel = build('{s['model']}')\n"
                    f"for {s['short']} in sweep:\n    train(model, {s['short']}={s['short']})\n```"
                )
            else:
                parts.append(
                    f"If {s['phenomenon']} depends on {s['knob']}, then {s['method']} should "
                    f"move it: the relation {MATH[rng.randrange(len(MATH))]} predicts as much. "
                    f"See [this thread](https://github.com/mlcollective/rfp/issues/{s['n']}) "
                    f"and `{s['short']}` sweeps in {s['model2']}."
                )
        return "\n\n".join(parts)

    def first_plot(self, length: int) -> str:
        s = self._head_slots()
        text = (
            f"- **x axis:** {s['knob']}, log scale.\n- **y axis:** {s['measure']}.\n"
            f"- **Compare:** {s['model']} with and without {s['method']}, one line each.\n\n"
            f"I would be surprised if {s['phenomenon']} looked the same in both."
        )
        while len(text) < length:
            s = self._head_slots()
            text += (
                f"\n\nA second panel could show {s['measure']} for {s['model2']} on "
                f"{s['data']}, as a sanity check of {MATH[self.rng.randrange(len(MATH))]}."
            )
        return text

    def from_templates(self, templates: list[str], count: int) -> list[str]:
        return [self.rng.choice(templates).format(**self._head_slots()) for _ in range(count)]


# -- the image --------------------------------------------------------------------------------


def plot_image(upload_folder: str) -> dict:
    """One plot drawn with Pillow, through the portal's image pipeline, stored once."""
    from PIL import Image, ImageDraw

    from rfp_portal.rendering.images import process_drawn
    from rfp_portal.storage import FileStore

    image = Image.new("RGB", (640, 440), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(60, 20), (60, 400), (620, 400)], fill="black", width=2)
    for colour, bend in (("#1f77b4", 0.4), ("#ff7f0e", 0.7)):
        points = [
            (60 + x, 400 - 360 * (1 - math.exp(-x / (560 * bend))) * (0.6 + 0.4 * bend))
            for x in range(0, 561, 8)
        ]
        draw.line(points, fill=colour, width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    processed = process_drawn(out.getvalue())
    store = FileStore(upload_folder)
    full, thumb = processed.image, processed.thumb
    return {
        "image_key": store.put(full.data, full.extension),
        "image_type": full.content_type,
        "width": full.width,
        "height": full.height,
        "thumb_key": store.put(thumb.data, thumb.extension),
        "thumb_type": thumb.content_type,
        "thumb_width": thumb.width,
        "thumb_height": thumb.height,
    }


# -- loading ----------------------------------------------------------------------------------

MODEL_TABLES = list(Base.metadata.sorted_tables)


class Loader:
    """Bulk inserts on one connection: executemany in batches, or COPY on PostgreSQL."""

    def __init__(self, connection: sa.Connection, postgres_load: str) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self.copy = self.dialect == "postgresql" and postgres_load == "copy"

    def insert(self, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
        count = 0
        if self.copy:
            enum_columns = {
                i for i, name in enumerate(columns) if isinstance(table.c[name].type, sa.Enum)
            }
            json_columns = {
                i for i, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON)
            }
            names = ", ".join(f'"{name}"' for name in columns)
            cursor = self.connection.connection.driver_connection.cursor()
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    if enum_columns or json_columns:
                        row = [
                            (v.value if i in enum_columns and v is not None else v)
                            if i not in json_columns
                            else (None if v is None else json.dumps(v))
                            for i, v in enumerate(row)
                        ]
                    copy.write_row(row)
                    count += 1
            cursor.close()
            return count
        statement = sa.insert(table)
        batch: list[dict] = []
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) == BATCH:
                self.connection.execute(statement, batch)
                count += len(batch)
                batch = []
        if batch:
            self.connection.execute(statement, batch)
            count += len(batch)
        return count


# Tables the app keeps for itself rather than for content (the page cache's generation counter):
# never emptied, and bumped after a load so no worker serves a page cached before it.
BOOKKEEPING_TABLES = {"site_state"}
CONTENT_TABLES = [t for t in MODEL_TABLES if t.name not in BOOKKEEPING_TABLES]


def _has_data(connection: sa.Connection) -> bool:
    for table in ("users", "rfps", "tags", "jams"):
        if connection.execute(sa.text(f'SELECT 1 FROM "{table}" LIMIT 1')).first():  # noqa: S608
            return True
    return False


def _empty_everything(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in CONTENT_TABLES)
        connection.execute(sa.text(f"TRUNCATE {names}, rfp_search RESTART IDENTITY CASCADE"))
        return
    # Without foreign key checks SQLite empties a table at once instead of row by row.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    for table in reversed(CONTENT_TABLES):
        connection.execute(table.delete())
    connection.execute(sa.text("DELETE FROM rfp_fts"))


def prepare_schema(engine: sa.Engine, *, replace: bool) -> str:
    """Make the schema when there is none; refuse (or, with ``replace``, empty) a used database.

    :raise SystemExit: when the database holds data and ``replace`` is false.
    """
    tables = set(sa.inspect(engine).get_table_names())
    if "rfps" not in tables:
        migrate.upgrade(engine)
        how = "made by the migrations"
    elif "alembic_version" in tables:
        migrate.upgrade(engine)  # nothing to do at head; an older schema is brought up to date
        how = "existing, migrated to head"
    else:
        how = "existing (not made by the migrations), used as it is"
    with engine.begin() as connection:
        if _has_data(connection):
            if not replace:
                raise SystemExit(
                    "This database already holds data; pass --replace to delete all of it and "
                    "load the generated community instead."
                )
            _empty_everything(connection)
            how += "; its data deleted (--replace)"
    return how


def _sqlite_path(url: sa.URL) -> Path | None:
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database)
    return None


def default_summary_path(url: sa.URL) -> Path:
    path = _sqlite_path(url)
    if path is not None:
        return path.with_name(path.stem + ".dataset.json")
    return DATA / "dataset.json"


def app_settings() -> tuple[str, str]:
    """The database URL and upload folder the portal itself is configured with."""
    from rfp_portal import create_app

    app = create_app()
    return app.config["DATABASE_URL"], app.config["UPLOAD_FOLDER"]


# -- the whole run ----------------------------------------------------------------------------


def generate(
    database_url: str,
    sizes: Sizes,
    *,
    upload_folder: str,
    seed: int = 1,
    replace: bool = False,
    summary_path: str | Path | None = None,
    postgres_load: str = "copy",
    now: datetime | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Fill the database at ``database_url`` with a generated community; returns the summary.

    :raise SystemExit: when the database holds data and ``replace`` is false.
    """
    from rfp_portal.config import normalise_database_url

    database_url = normalise_database_url(database_url)
    url = sa.make_url(database_url)
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    timings = Timings(log=log)
    log(f"Generating into {url.render_as_string(hide_password=True)} ({asdict(sizes)})")
    engine = make_engine(database_url)
    try:
        with timings.phase("schema"):
            how = prepare_schema(engine, replace=replace)
        log(f"    schema {how}")

        # Each step draws from its own stream of the seed, so changing one (or the moment of the
        # run moving a date across a line) leaves the draws of the others as they were.
        def step(name: str) -> None:
            rng.seed(f"{seed}:{name}")

        with timings.phase("plan"):
            step("plan")
            planner = Planner(sizes, rng, now)
            plan = planner.plan()
            step("claims")
            claims = plan_claims(planner, plan, sizes.claims)
            pool_size = min(200, max(20, sizes.comments // 20))
            step("comments")
            comment_rows = plan_comments(planner, plan, sizes.comments, pool_size)
            step("wants")
            want_rows = plan_wants(planner, plan, sizes.wants)
            step("jams")
            jams, presentations = plan_jams(planner, plan, sizes.jams, sizes.presentations)
            community = Community(plan, claims, comment_rows, want_rows, jams, presentations)
        with timings.phase("render pools"):
            step("texts")
            writer = Writer(planner, rng)
            pools = render_pools(writer, rng, sizes, pool_size)
            password_hash = generate_password_hash(PASSWORD)
            image = plot_image(upload_folder)
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                previous_sync = connection.exec_driver_sql("PRAGMA synchronous").scalar()
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.exec_driver_sql("PRAGMA synchronous=OFF")
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
                connection.exec_driver_sql("PRAGMA cache_size=-262144")
                connection.exec_driver_sql("PRAGMA temp_store=MEMORY")
                connection.commit()
            loader = Loader(connection, postgres_load)
            step("rows")
            ids = load(
                loader,
                timings,
                community,
                writer=writer,
                pools=pools,
                password_hash=password_hash,
                image=image,
            )
            with timings.phase("search index"):
                search.rebuild_index(connection)
                _bump_page_cache(connection)
                connection.commit()
            with timings.phase("analyze"):
                if not sqlite:
                    _move_sequences(connection)
                    connection.commit()
                    connection.exec_driver_sql("ANALYZE")
                    connection.commit()
                else:
                    connection.exec_driver_sql("ANALYZE")
                    connection.exec_driver_sql("PRAGMA optimize")
                    connection.commit()
                    connection.exec_driver_sql(f"PRAGMA synchronous={previous_sync}")
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            with timings.phase("pick search words"):
                common, rare = pick_words(connection, plan)
            counts = {
                t.name: connection.scalar(sa.select(sa.func.count()).select_from(t))
                for t in CONTENT_TABLES
            }
    finally:
        engine.dispose()
    total = timings.total
    summary = {
        "database": url.render_as_string(hide_password=True),
        "dialect": url.get_backend_name(),
        "seed": seed,
        "generated_at": now.isoformat(),
        "sizes": asdict(sizes),
        "counts": counts,
        "common_word": common[0],
        "common_word_rfps": common[1],
        "rare_word": rare[0],
        "rare_word_rfps": rare[1],
        "rfp_with_50_comments": ids["special_rfp"],
        "busiest_rfp": ids["busiest_rfp"],
        "username": _username(1, sizes.members),
        "password": PASSWORD,
        "admin": _username(2, sizes.members),
        "organisers": [
            _username(uid, sizes.members)
            for uid, r in sorted(plan.roles.items())
            if r is Role.ORGANISER
        ],
        "common_tag": ids["common_tag"],
        "jam_with_presentations": ids["jam_with_presentations"],
        "upload_folder": str(upload_folder),
        "seconds": {name: round(seconds, 2) for name, seconds, _ in timings.phases},
        "total_seconds": round(total, 1),
    }
    path = Path(summary_path) if summary_path else default_summary_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n")
    log(f"  {'total':<28} {total:7.2f} s")
    log(
        f"Common word: {common[0]!r} ({common[1]:,} RFPs)   rare word: {rare[0]!r} ({rare[1]:,} RFPs)"
    )
    log(
        f"RFP with 50 comments: {ids['special_rfp']}   log in as {summary['username']} / {PASSWORD}"
    )
    log(f"Summary written to {path}")
    return summary


def _username(uid: int, members: int) -> str:
    return f"member{uid:0{max(5, len(str(members)))}d}"


def render_pools(writer: Writer, rng: random.Random, sizes: Sizes, comment_pool: int) -> dict:
    """Render the pooled texts once with the portal's renderer (see the module's docstring)."""
    body_pool = min(100, max(8, sizes.rfps // 20))
    # With the per-RFP paragraph (up to about 500 characters) in front, an RFP's two Markdown
    # parts come to between 300 and 3,000 characters together.
    big = [writer.big_picture(rng.randint(150, 1300)) for _ in range(body_pool)]
    first = [writer.first_plot(rng.randint(100, 600)) for _ in range(body_pool)]
    pools = {
        "big_picture": Pool.rendered(big),
        "first_plot": Pool.rendered(first),
        "comment": Pool.rendered(writer.from_templates(COMMENTS, comment_pool)),
        "update": Pool.rendered(writer.from_templates(UPDATES, 20)),
        "write_up": Pool.rendered(writer.from_templates(WRITE_UPS, 20)),
        "note": Pool.rendered(writer.from_templates(NOTES, 12)),
    }
    # The per-RFP paragraph is joined to pooled HTML without the renderer: check it would agree.
    for k in range(3):
        topics = {name: z() for name, z in writer.heads.items()}
        topics.update(model2="MLP", phenomenon2="grokking", method2="dropout", niche="Lion")
        lead = writer.lead(_capitalised(topics))
        expected = f"<p>{lead}</p>\n" + pools["big_picture"].html[k % body_pool]
        actual = render_markdown(lead + "\n\n" + pools["big_picture"].md[k % body_pool])
        if actual != expected:
            raise RuntimeError(f"a plain paragraph did not render as expected: {lead!r}")
    return pools


@dataclass
class Community:
    """Everything planned, before any text is written."""

    plan: Plan
    claims: list[ClaimRow]
    comments: list[CommentRow]
    wants: list[tuple[int, int, float]]
    jams: list[tuple[int, float]]
    presentations: list[list]


def load(
    loader: Loader,
    timings: Timings,
    community: Community,
    *,
    writer: Writer,
    pools: dict[str, Pool],
    password_hash: str,
    image: dict,
) -> dict:
    """Insert every table, one transaction each; returns ids the benchmark needs."""
    connection, rng = loader.connection, writer.rng
    plan, claims, comment_rows = community.plan, community.claims, community.comments
    want_rows, jams, presentations = community.wants, community.jams, community.presentations
    n_users = len(plan.user_times)
    width = max(5, len(str(n_users)))
    first_names, last_names = FIRST_NAMES, LAST_NAMES

    def users():
        for uid in range(1, n_users + 1):
            off = plan.deactivated.get(uid)
            yield (
                uid,
                f"member{uid:0{width}d}",
                f"member{uid:0{width}d}@example.org",
                f"{first_names[(uid * 7) % len(first_names)]} {last_names[(uid * 13 + uid // 97) % len(last_names)]}",
                password_hash,
                plan.roles.get(uid, Role.MEMBER),
                off is None,
                None if off is None else _dt(off),
                _dt(plan.user_times[uid - 1]),
                "",  # no bio
                "",
            )

    _phase(
        timings,
        "users",
        connection,
        loader,
        User.__table__,
        (
            "id",
            "username",
            "email",
            "display_name",
            "password_hash",
            "role",
            "active",
            "deactivated_at",
            "created_at",
            "bio_md",
            "bio_html",
        ),
        users(),
    )
    _phase(
        timings,
        "tags",
        connection,
        loader,
        Tag.__table__,
        ("id", "name"),
        ((i + 1, name) for i, name in enumerate(plan.tags)),
    )

    bp, fp = pools["big_picture"], pools["first_plot"]
    n = len(plan.rfp_times)
    want_count = plan.want_count or [0] * n
    # rfps.comment_count: the visible comments of each RFP, as the portal keeps it.
    comment_count = [0] * n
    for row in community.comments:
        if row.deleted is None and row.hidden is None:
            comment_count[row.rfp] += 1
    difficulties = (
        [Difficulty.BEGINNER] * 35 + [Difficulty.INTERMEDIATE] * 45 + [Difficulty.ADVANCED] * 20
    )
    computes = [Compute.LAPTOP] * 40 + [Compute.ONE_GPU] * 45 + [Compute.CLUSTER] * 15

    def rfps():
        for i in range(n):
            b, f = rng.randrange(len(bp.md)), rng.randrange(len(fp.md))
            slots = _capitalised(plan.rfp_topics[i])
            lead = writer.lead(slots)
            yield (
                i + 1,
                writer.title(slots),
                writer.summary(slots),
                lead + "\n\n" + bp.md[b],
                f"<p>{lead}</p>\n" + bp.html[b],
                fp.md[f],
                fp.html[f],
                difficulties[rng.randrange(100)],
                computes[rng.randrange(100)],
                plan.rfp_cap[i],
                plan.rfp_state[i],
                plan.rfp_author[i],
                _dt(plan.rfp_times[i]),
                _dt(plan.rfp_updated[i]),
                want_count[i],
                comment_count[i],
            )

    _phase(
        timings,
        "rfps",
        connection,
        loader,
        Rfp.__table__,
        (
            "id",
            "title",
            "summary",
            "big_picture_md",
            "big_picture_html",
            "first_plot_md",
            "first_plot_html",
            "difficulty",
            "compute",
            "claim_cap",
            "state",
            "author_id",
            "created_at",
            "updated_at",
            "want_count",
            "comment_count",
        ),
        rfps(),
    )
    _phase(
        timings,
        "rfp_tags",
        connection,
        loader,
        rfp_tags,
        ("rfp_id", "tag_id"),
        ((i + 1, tag) for i in range(n) for tag in plan.rfp_tags[i]),
    )

    # Jams and presentations.
    jam_desc = Pool.rendered(
        [
            "Our monthly open lab meeting: short updates, new **Requests for Plot**, and time to "
            "find collaborators. Everyone is welcome; no preparation needed.",
            "Bring a plot you wish existed. Slides optional, questions encouraged. "
            "Notes from the last Jam are [on the wiki](https://mlcollective.org/wiki).",
        ]
    )
    jam_rows = []
    for number, t in jams:
        d = number % 2
        created = min(plan.now - 60, t - 30 * DAY)
        jam_rows.append(
            (
                number,
                f"Research Jam #{number}",
                _dt(t),
                "America/Los_Angeles",
                90,
                "https://mlcollective.org/jam",
                jam_desc.md[d],
                jam_desc.html[d],
                _dt(created),
                _dt(created),
            )
        )
    _phase(
        timings,
        "jams",
        connection,
        loader,
        Jam.__table__,
        (
            "id",
            "number",
            "title",
            "starts_at",
            "timezone",
            "duration_minutes",
            "join_url",
            "description_md",
            "description_html",
            "created_at",
            "updated_at",
        ),
        ((row[0], *row) for row in jam_rows),
    )
    _phase(
        timings,
        "presentations",
        connection,
        loader,
        Presentation.__table__,
        (
            "id",
            "rfp_id",
            "jam_id",
            "presenter_id",
            "slides_url",
            "recording_url",
            "position",
            "created_at",
        ),
        (
            (
                k + 1,
                i + 1,
                number,
                plan.rfp_author[i],
                f"https://slides.example.org/rfp-{i + 1}" if k % 3 else None,
                f"https://youtube.example.org/jam-{number}" if k % 2 else None,
                pos,
                _dt(created),
            )
            for k, (i, number, pos, created) in enumerate(presentations)
        ),
    )

    # Plots: an example on a quarter of the RFPs, a result plot for each delivered claim.
    plot_columns = (
        "id",
        "rfp_id",
        "kind",
        "caption",
        "alt_text",
        "position",
        *image,
        "spec",
        "created_by_id",
        "created_at",
        "updated_at",
    )
    image_values = tuple(image.values())
    plot_rows = []
    for i in range(n):
        if plan.rfp_plot[i]:
            t = _dt(plan.rfp_times[i] + 30)
            plot_rows.append(
                (
                    len(plot_rows) + 1,
                    i + 1,
                    PlotKind.EXAMPLE,
                    "What I expect the curves to look like",
                    "Two rising curves that bend at different points",
                    0,
                    *image_values,
                    None,
                    plan.rfp_author[i],
                    t,
                    t,
                )
            )
    for claim in claims:
        if claim.status is ClaimStatus.DELIVERED:
            claim.result_plot = len(plot_rows) + 1
            t = _dt(claim.ended)
            plot_rows.append(
                (
                    claim.result_plot,
                    claim.rfp + 1,
                    PlotKind.RESULT,
                    "The result",
                    "The delivered result plot",
                    0,
                    *image_values,
                    None,
                    claim.claimant,
                    t,
                    t,
                )
            )
    _phase(timings, "plots", connection, loader, Plot.__table__, plot_columns, plot_rows)

    notes, write_ups, updates = pools["note"], pools["write_up"], pools["update"]

    def claim_rows():
        for c in claims:
            note = rng.randrange(len(notes.md))
            delivered = c.status is ClaimStatus.DELIVERED
            w = rng.randrange(len(write_ups.md))
            yield (
                c.id,
                c.rfp + 1,
                c.claimant,
                notes.md[note],
                notes.html[note],
                c.status,
                _dt(c.created),
                _dt(c.last_activity),
                None if c.ended is None else _dt(c.ended),
                f"https://github.com/member{c.claimant:0{width}d}/rfp-{c.rfp + 1}"
                if delivered
                else None,
                write_ups.md[w] if delivered else None,
                write_ups.html[w] if delivered else None,
                c.result_plot,
                None if c.accepted is None else _dt(c.accepted),
            )

    _phase(
        timings,
        "claims",
        connection,
        loader,
        Claim.__table__,
        (
            "id",
            "rfp_id",
            "claimant_id",
            "note_md",
            "note_html",
            "status",
            "created_at",
            "last_activity_at",
            "ended_at",
            "result_url",
            "write_up_md",
            "write_up_html",
            "result_plot_id",
            "accepted_at",
        ),
        claim_rows(),
    )

    def update_rows():
        k = 0
        for c in claims:
            for t in c.updates:
                k += 1
                u = rng.randrange(len(updates.md))
                yield (k, c.id, updates.md[u], updates.html[u], _dt(t))

    _phase(
        timings,
        "progress_updates",
        connection,
        loader,
        ProgressUpdate.__table__,
        ("id", "claim_id", "body_md", "body_html", "created_at"),
        update_rows(),
    )

    cp = pools["comment"]
    per_rfp: Counter = Counter()

    def comment_rows_():
        for k, c in enumerate(comment_rows, start=1):
            gone = c.deleted is not None
            per_rfp[c.rfp] += 1
            yield (
                k,
                c.rfp + 1,
                c.author,
                "" if gone else cp.md[c.pool],
                "" if gone else cp.html[c.pool],
                _dt(c.created),
                None if c.edited is None else _dt(c.edited),
                None if c.deleted is None else _dt(c.deleted),
                None if c.hidden is None else _dt(c.hidden),
                c.hidden_by,
            )

    _phase(
        timings,
        "comments",
        connection,
        loader,
        Comment.__table__,
        (
            "id",
            "rfp_id",
            "author_id",
            "body_md",
            "body_html",
            "created_at",
            "edited_at",
            "deleted_at",
            "hidden_at",
            "hidden_by_id",
        ),
        comment_rows_(),
    )

    def moderation_rows():
        rows = []
        for uid, role in sorted(plan.roles.items()):
            rows.append(
                (
                    ModerationKind.CHANGE_ROLE,
                    None,
                    None,
                    None,
                    uid,
                    f"member → {role.value}",
                    "",
                    plan.user_times[uid - 1] + DAY,
                )
            )
        for uid, t in plan.deactivated.items():
            rows.append(
                (ModerationKind.DEACTIVATE_ACCOUNT, 2, None, None, uid, "", "Spam account", t)
            )
        for i, organiser in plan.withdrawn_by.items():
            rows.append(
                (
                    ModerationKind.WITHDRAW_RFP,
                    organiser,
                    i + 1,
                    None,
                    plan.rfp_author[i],
                    "",
                    "Duplicate of an earlier RFP",
                    plan.rfp_updated[i],
                )
            )
        for k, c in enumerate(comment_rows, start=1):
            if c.hidden is not None:
                rows.append(
                    (
                        ModerationKind.HIDE_COMMENT,
                        c.hidden_by,
                        c.rfp + 1,
                        k,
                        c.author,
                        "",
                        "Off-topic advertising",
                        c.hidden,
                    )
                )
        rows.sort(key=lambda r: r[-1])
        for k, row in enumerate(rows, start=1):
            yield (k, *row[:-1], _dt(row[-1]))

    _phase(
        timings,
        "moderation_actions",
        connection,
        loader,
        ModerationAction.__table__,
        (
            "id",
            "kind",
            "actor_id",
            "rfp_id",
            "comment_id",
            "subject_id",
            "detail",
            "reason",
            "created_at",
        ),
        moderation_rows(),
    )
    _phase(
        timings,
        "wants",
        connection,
        loader,
        wants,
        ("rfp_id", "user_id", "created_at"),
        ((i + 1, uid, _dt(t)) for i, uid, t in want_rows),
    )

    jam_counts = Counter(number for _, number, _, _ in presentations)
    tag_counts = Counter(tag for tags in plan.rfp_tags for tag in tags)
    return {
        "common_tag": plan.tags[tag_counts.most_common(1)[0][0] - 1] if tag_counts else None,
        "special_rfp": None if plan.special_rfp is None else plan.special_rfp + 1,
        "busiest_rfp": (per_rfp.most_common(1)[0][0] + 1) if per_rfp else None,
        "jam_with_presentations": jam_counts.most_common(1)[0][0] if jam_counts else None,
    }


def _phase(timings, name, connection, loader, table, columns, rows) -> None:
    """One table in one transaction (COPY runs on the driver's cursor inside it)."""
    with timings.phase(name) as phase, connection.begin():
        phase.rows = loader.insert(table, columns, rows)


def _bump_page_cache(connection: sa.Connection) -> None:
    """Pages cached by a running portal before the load are stale now: move the generation."""
    if "site_state" not in sa.inspect(connection).get_table_names():
        return
    bumped = connection.execute(
        sa.text("UPDATE site_state SET content_generation = content_generation + 1 WHERE id = 1")
    ).rowcount
    if not bumped:
        connection.execute(sa.text("INSERT INTO site_state (id, content_generation) VALUES (1, 1)"))


def _move_sequences(connection: sa.Connection) -> None:
    """Ids were given explicitly: move each PostgreSQL sequence past the highest one."""
    for table in MODEL_TABLES:
        if "id" in table.c and table.c.id.primary_key:
            connection.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                    f'coalesce(max(id), 1), max(id) IS NOT NULL) FROM "{table.name}"'
                )
            )


# -- the words the benchmark searches for -----------------------------------------------------

SINGLE_WORD = re.compile(r"^[A-Za-z]{4,}$")


def count_matches(connection: sa.Connection, word: str) -> int:
    """How many RFPs the listing's search finds for ``word`` (open and completed, as by default)."""
    rfps = Rfp.__table__
    select = (
        sa.select(sa.func.count())
        .select_from(rfps)
        .where(rfps.c.state.in_([RfpState.OPEN, RfpState.COMPLETED]))
    )
    select, _rank = search.apply_search(
        select, search.parse_query(word), connection.dialect.name, rfps.c.id
    )
    return connection.scalar(select)


def pick_words(connection: sa.Connection, plan: Plan) -> tuple[tuple[str, int], tuple[str, int]]:
    """A word in about 40 % of RFPs and one in about 10, measured with the portal's search."""
    n = len(plan.rfp_times)
    all_tokens = Counter(
        token.lower()
        for terms in VOCABULARY.values()
        for term in terms
        for token in re.findall(r"[A-Za-z]+", term)
    )
    tag_tokens = {token for tag in plan.tags for token in re.findall(r"[a-z]+", tag)}

    def single(term: str) -> bool:
        low = term.lower()
        return bool(SINGLE_WORD.match(term)) and low not in search.STOP_WORDS

    niche = set(VOCABULARY["niche"])
    rare_candidates = sorted(
        (
            (abs(count - 10), term)
            for term, count in plan.term_rfps.items()
            if term in niche
            and single(term)
            and all_tokens[term.lower()] == 1
            and term.lower() not in tag_tokens
        ),
    )[:8]
    # The pooled bodies (shared by many RFPs) add to the counts of the common words: measure the
    # most frequent topics and take the one nearest 40 %.
    common_candidates = sorted(
        (-count, term)
        for term, count in plan.term_rfps.items()
        if single(term) and term not in niche
    )[:16]
    rare = min(
        ((term.lower(), count_matches(connection, term.lower())) for _, term in rare_candidates),
        key=lambda pair: (pair[1] == 0, abs(pair[1] - 10)),
        default=("", 0),
    )
    common = min(
        ((term.lower(), count_matches(connection, term.lower())) for _, term in common_candidates),
        key=lambda pair: abs(pair[1] - 0.4 * n),
        default=("", 0),
    )
    return common, rare


# -- the command line -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="default: the portal's own (DATABASE_URL or the instance SQLite file)",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every default size (0.1 = a tenth)"
    )
    for name, default in DEFAULTS.items():
        parser.add_argument(f"--{name}", type=int, help=f"default {default:,} × scale")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--replace", action="store_true", help="delete the data of a non-empty database first"
    )
    parser.add_argument(
        "--summary",
        help="where to write the JSON summary (default: beside the SQLite file, or benchmarks/.data/dataset.json)",
    )
    parser.add_argument(
        "--upload-folder",
        help="where the one plot image goes (default: the portal's UPLOAD_FOLDER)",
    )
    parser.add_argument("--postgres-load", choices=("copy", "executemany"), default="copy")
    args = parser.parse_args(argv)

    sizes = Sizes.scaled(args.scale, **{name: getattr(args, name) for name in DEFAULTS})
    database_url, upload_folder = args.database_url, args.upload_folder
    if database_url is None or upload_folder is None:
        app_url, app_uploads = app_settings()
        database_url = database_url or app_url
        upload_folder = upload_folder or app_uploads
    generate(
        database_url,
        sizes,
        upload_folder=upload_folder,
        seed=args.seed,
        replace=args.replace,
        summary_path=args.summary,
        postgres_load=args.postgres_load,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
