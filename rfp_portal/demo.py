"""Demo data, so a new user sees a living portal (Research Jams join as later issues add them)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.db import Base, utcnow
from rfp_portal.models import Compute, Difficulty, Role, User
from rfp_portal.services.accounts import register_user
from rfp_portal.services.rfps import RfpDraft, submit_rfp

# Every demo account has this password, so people trying the portal can log in as any of them.
DEMO_PASSWORD = "open-collab-demo"  # noqa: S105 - published on purpose, for demo accounts

PEOPLE = [
    ("ada", "Ada Okafor", Role.MEMBER),
    ("jun", "Jun Tanaka", Role.MEMBER),
    ("maria", "María Gómez", Role.MEMBER),
    ("sam", "Sam Newcomer", Role.MEMBER),
    ("jamhost", "Jam Host", Role.ORGANISER),
]

RFPS = [
    dict(
        author="ada",
        days_ago=2,
        title="Where does linear learning-rate scaling break down?",
        summary="Plot the best learning rate against batch size and find where the straight line bends.",
        tags=["optimization", "scaling", "training dynamics"],
        difficulty=Difficulty.BEGINNER,
        compute=Compute.ONE_GPU,
        claim_cap=3,
        big_picture="""\
The *linear scaling rule* says that when you multiply the batch size $B$ by $k$ you should multiply
the learning rate $\\eta$ by $k$ too. It works remarkably well — until it doesn't.
[Goyal et al. (2017)](https://arxiv.org/abs/1706.02677) saw it hold up to $B = 8192$ on ImageNet;
[McCandlish et al. (2018)](https://arxiv.org/abs/1812.06162) tie the break to the *gradient noise scale*.

Where is the bend for small models on small data sets, the kind anyone can train on one GPU?
""",
        first_plot="""\
- **x axis:** batch size $B$ from 16 to 4096, log scale.
- **y axis:** the learning rate that reaches the lowest validation loss after a fixed number of
  *examples* (not steps), log scale.
- **Compare:** a ResNet-18 on CIFAR-10 and a small MLP on MNIST, one line each, with the line
  $\\eta \\propto B$ drawn for reference.

I would be surprised if the bend sat at the same $B$ for both.
""",
    ),
    dict(
        author="jun",
        days_ago=5,
        title="Do lottery tickets found on CIFAR-10 transfer to SVHN?",
        summary="A plot of test accuracy against sparsity for winning tickets moved to a new data set.",
        tags=["pruning", "lottery tickets", "transfer"],
        difficulty=Difficulty.INTERMEDIATE,
        compute=Compute.ONE_GPU,
        claim_cap=None,
        big_picture="""\
The [lottery ticket hypothesis](https://arxiv.org/abs/1803.03635) says dense networks contain sparse
subnetworks that train to full accuracy from their original initialisation. If tickets encode
something general about images, a ticket found on one data set should be a good start on another.

### Why it matters
Transferable tickets would make sparse training cheap: find once, reuse everywhere.
""",
        first_plot="""\
Test accuracy on SVHN (y) against the fraction of weights kept (x, log scale, 100 % down to 1 %):

1. tickets found on SVHN itself,
2. tickets found on CIFAR-10 and transferred,
3. random sparse masks of the same sparsity.

If line 2 hugs line 1 down to 5 %, tickets transfer.
""",
    ),
    dict(
        author="maria",
        days_ago=9,
        title="How many dimensions does fine-tuning really need, as models grow?",
        summary="Intrinsic dimension of fine-tuning against model size, for a few tasks.",
        tags=["fine-tuning", "intrinsic dimension", "nlp"],
        difficulty=Difficulty.ADVANCED,
        compute=Compute.CLUSTER,
        claim_cap=2,
        big_picture="""\
[Aghajanyan et al. (2020)](https://arxiv.org/abs/2012.13255) found that larger pre-trained models
can be fine-tuned in a *smaller* random subspace: the intrinsic dimension $d_{90}$ shrinks as the
parameter count grows. Does this hold beyond their tasks and model families?
""",
        first_plot="""\
$d_{90}$ (y, log scale) against parameter count (x, log scale) for three tasks, one line each.
A straight line with negative slope would confirm the paper; a floor would be the surprise.
""",
    ),
    dict(
        author="ada",
        days_ago=14,
        title="When do CNN filters stop changing?",
        summary="Track the similarity of each layer's filters to their final values during training.",
        tags=["training dynamics", "vision", "representations"],
        difficulty=Difficulty.BEGINNER,
        compute=Compute.LAPTOP,
        claim_cap=None,
        big_picture="""\
Folklore says early layers converge first. [Raghu et al. (2017)](https://arxiv.org/abs/1706.05806)
showed it with SVCCA; a small CNN on a laptop is enough to see it yourself, and to ask whether
*freezing* layers once they settle saves compute without hurting accuracy.
""",
        first_plot="""\
For each of the 4 conv layers of a small CNN on CIFAR-10, the CKA similarity between its
activations at epoch $t$ and at the final epoch (y, 0 to 1) against $t$ (x). One line per layer.
""",
    ),
    dict(
        author="jun",
        days_ago=20,
        title="Does label noise show up as forgetting events?",
        summary="Count forgetting events per example and see whether mislabelled ones stand out.",
        tags=["data quality", "label noise", "training dynamics"],
        difficulty=Difficulty.BEGINNER,
        compute=Compute.LAPTOP,
        claim_cap=4,
        big_picture="""\
An example is *forgotten* when the model classified it correctly at one step and wrongly later
([Toneva et al., 2019](https://arxiv.org/abs/1812.05159)). Mislabelled examples should be forgotten
again and again. Could counting forgetting events be a cheap detector of label noise?
""",
        first_plot="""\
Histogram of forgetting events per example (x) for clean and for deliberately flipped labels
(two colours, 10 % of CIFAR-10 labels flipped), y on a log scale.
""",
    ),
    dict(
        author="maria",
        days_ago=30,
        title="Is the edge of stability reached with Adam too?",
        summary="Sharpness against training step for SGD and Adam, with the 2/η line.",
        tags=["optimization", "sharpness"],
        difficulty=Difficulty.INTERMEDIATE,
        compute=Compute.ONE_GPU,
        claim_cap=2,
        big_picture="""\
With full-batch gradient descent the top Hessian eigenvalue rises until it hovers at $2/\\eta$ —
the [edge of stability](https://arxiv.org/abs/2103.00065). Adam preconditions the gradient, so the
relevant quantity is the *preconditioned* sharpness. Does it hover at its own threshold?
""",
        first_plot="""\
Top eigenvalue of the (preconditioned) Hessian (y) against step (x) for GD and Adam at three
learning rates, with the threshold $2/\\eta$ (or $38/\\eta$ for Adam with $\\beta_1 = 0.9$) dashed.
""",
    ),
]


def has_data(session: Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(User)) > 0


def delete_everything(session: Session) -> None:
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(table.delete())
    session.flush()


def load(session: Session) -> str:
    """Add the demo people and RFPs; return a short summary of what was added."""
    people = {}
    for username, name, role in PEOPLE:
        people[username] = register_user(
            session,
            username=username,
            email=f"{username}@example.org",
            display_name=name,
            password=DEMO_PASSWORD,
            role=role,
        )
    now = utcnow()
    for spec in RFPS:
        draft = RfpDraft(
            title=spec["title"],
            summary=spec["summary"],
            big_picture=spec["big_picture"],
            first_plot=spec["first_plot"],
            tags=spec["tags"],
            difficulty=spec["difficulty"],
            compute=spec["compute"],
            claim_cap=spec["claim_cap"],
        )
        rfp = submit_rfp(session, author=people[spec["author"]], draft=draft)
        rfp.created_at = rfp.updated_at = now - timedelta(days=spec["days_ago"])
    session.flush()
    return f"{len(PEOPLE)} people (password {DEMO_PASSWORD!r}), {len(RFPS)} RFPs"
