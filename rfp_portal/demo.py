"""Demo data, so a new user sees a living portal (Research Jams join as later issues add them)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal import clock, search
from rfp_portal.db import Base
from rfp_portal.models import (
    Compute,
    Difficulty,
    OutboxMessage,
    Plot,
    Role,
    SeriesKind,
    SlotKind,
    User,
)
from rfp_portal.services.accounts import register_user
from rfp_portal.services.plots import add_example_plot, add_sketch
from rfp_portal.services.profiles import ProfileDraft, update_profile
from rfp_portal.services.rfps import RfpDraft, submit_rfp
from rfp_portal.services.wants import set_want
from rfp_portal.storage import ImageStore

# Every demo account has this password, so people trying the portal can log in as any of them.
DEMO_PASSWORD = "open-collab-demo"  # noqa: S105 - published on purpose, for demo accounts

PEOPLE = [
    ("ada", "Ada Okafor", Role.MEMBER),
    ("jun", "Jun Tanaka", Role.MEMBER),
    ("maria", "María Gómez", Role.MEMBER),
    ("sam", "Sam Newcomer", Role.MEMBER),
    ("jamhost", "Jam Host", Role.ORGANISER),
]

# A few people say who they are and whether they mentor; Jam Host keeps to the bare account.
PROFILES = {
    "ada": dict(
        bio="Optimisation and training dynamics; I like questions a laptop can answer. "
        "Happy to pair on anything about **learning rates** or **batch sizes**.",
        website="https://example.org/ada",
        github="ada-okafor-demo",
        scholar="https://scholar.google.com/citations?user=DemoAdaOkaf1&hl=en",
        discord="ada.okafor",
        open_to_mentoring=True,
    ),
    "jun": dict(
        bio="Sparse networks, pruning and the lottery ticket hypothesis. "
        "I answer questions on the Open Collab Discord most evenings (JST).",
        github="jun-tanaka-demo",
        discord="jun_t",
        open_to_mentoring=True,
    ),
    "maria": dict(
        bio="PhD student working on fine-tuning large language models "
        "([intrinsic dimension](https://arxiv.org/abs/2012.13255) in particular).",
        website="https://example.org/maria",
        scholar="DemoMariaGo1",
    ),
    "sam": dict(
        bio="Software engineer moving into ML research. My first plot is in progress!",
        discord="samnewcomer",
        looking_for_mentor=True,
    ),
}

RFPS = [
    dict(
        author="ada",
        days_ago=45,
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
[McCandlish et al. (2018)](https://arxiv.org/abs/1812.06162) tie the break to the *gradient noise scale*
$B_{\\text{noise}}$: the best learning rate grows linearly at first, then levels off,

$$\\eta_{\\text{opt}}(B) = \\frac{\\eta_{\\max}}{1 + B_{\\text{noise}} / B}.$$

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
        days_ago=62,
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
Test accuracy on SVHN (y) against the fraction of weights kept (x, log scale, 100 % down to 1 %),
one line for each kind of mask, each trained on SVHN from the initialisation named:

| line | mask found on | initialisation |
|---|---|---|
| 1 | SVHN itself | the ticket's own |
| 2 | CIFAR-10, transferred | the ticket's own |
| 3 | nothing: a random mask of the same sparsity | the same as line 2 |

If line 2 hugs line 1 down to 5 %, tickets transfer.
""",
    ),
    dict(
        author="maria",
        days_ago=4,
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
        days_ago=33,
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
        days_ago=52,
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
        days_ago=75,
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


def _curve(xs, f):
    return {"x": list(xs), "y": [round(f(x), 4) for x in xs]}


BATCHES = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
# Plots per RFP (by index in RFPS): sketches the authors drew, and example images they uploaded.
SKETCHES = {
    0: dict(
        caption="What I expect: the best learning rate follows the linear rule, then bends.",
        alt_text="Hand-drawn log-log sketch: best learning rate rises in a straight line with batch size, then flattens after about 512 for the MLP and 2048 for the ResNet.",
        spec={
            "kind": "line",
            "title": "Best learning rate against batch size",
            "x_label": "batch size $B$",
            "y_label": "best learning rate $\\eta^*$",
            "x_log": True,
            "y_log": True,
            "hand_drawn": True,
            "series": [
                {
                    "name": "ResNet-18 / CIFAR-10",
                    **_curve(BATCHES, lambda b: 0.1 * min(b, 2048) / 128),
                },
                {"name": "MLP / MNIST", **_curve(BATCHES, lambda b: 0.05 * min(b, 512) / 128)},
                {"name": "$\\eta \\propto B$", **_curve(BATCHES, lambda b: 0.1 * b / 128)},
            ],
        },
    ),
    1: dict(
        caption="Hypothesis: transferred tickets track native ones until very high sparsity.",
        alt_text="Hand-drawn sketch of SVHN test accuracy against fraction of weights kept: native and transferred tickets stay near 95 percent down to 5 percent of weights, random masks fall off early.",
        spec={
            "kind": "line",
            "title": "Winning tickets moved from CIFAR-10 to SVHN",
            "x_label": "fraction of weights kept",
            "y_label": "SVHN test accuracy (%)",
            "x_log": True,
            "y_log": False,
            "hand_drawn": True,
            "series": [
                {
                    "name": "native tickets",
                    "x": [1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01],
                    "y": [95, 95.5, 95.6, 95.2, 94.5, 91, 85],
                },
                {
                    "name": "transferred",
                    "x": [1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01],
                    "y": [95, 95.2, 95, 94.4, 93, 88, 80],
                },
                {
                    "name": "random masks",
                    "x": [1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01],
                    "y": [95, 94, 91, 87, 80, 70, 55],
                },
            ],
        },
    ),
    3: dict(
        caption="My guess: early layers settle within a few epochs, the last layer keeps moving.",
        alt_text="Hand-drawn sketch of CKA similarity to the final epoch against epoch for four conv layers: layer 1 reaches 0.95 by epoch 5, layer 4 only near the end.",
        spec={
            "kind": "line",
            "title": "When do layers stop changing?",
            "x_label": "epoch $t$",
            "y_label": "CKA to final epoch",
            "x_log": False,
            "y_log": False,
            "hand_drawn": True,
            "series": [
                {
                    "name": f"conv{k}",
                    **_curve(range(0, 31, 3), lambda t, k=k: 1 - 0.9 * 0.5 ** (t / (1.5 * k))),
                }
                for k in (1, 2, 3, 4)
            ],
        },
    ),
    4: dict(
        caption="Expected: flipped labels are forgotten far more often.",
        alt_text="Bar chart sketch of the share of examples by number of forgetting events, for clean and flipped labels: clean examples mostly have zero, flipped ones mostly three or more.",
        spec={
            "kind": "bar",
            "title": "Forgetting events per example",
            "x_label": "forgetting events",
            "y_label": "share of examples",
            "x_log": False,
            "y_log": False,
            "hand_drawn": True,
            "series": [
                {"name": "clean labels", "x": ["0", "1", "2", "3+"], "y": [0.7, 0.18, 0.07, 0.05]},
                {"name": "flipped labels", "x": ["0", "1", "2", "3+"], "y": [0.05, 0.1, 0.2, 0.65]},
            ],
        },
    ),
}
EXAMPLES = {
    0: dict(
        caption="An example of the kind of figure I mean, redrawn from Goyal et al. (2017), Fig. 1 (approximate values).",
        alt_text="ImageNet top-1 error against mini-batch size from 64 to 65536: flat near 23.5 percent up to 8192, then rising steeply to 41 percent.",
        spec={
            "kind": "line",
            "title": "ImageNet error against batch size (after Goyal et al.)",
            "x_label": "mini-batch size",
            "y_label": "top-1 error (%)",
            "x_log": True,
            "y_log": False,
            "hand_drawn": False,
            "series": [
                {
                    "name": "",
                    "x": [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536],
                    "y": [23.6, 23.5, 23.6, 23.5, 23.4, 23.6, 23.6, 23.7, 24.8, 28.5, 41.0],
                }
            ],
        },
    ),
    5: dict(
        caption="What full-batch GD does (schematic, after Cohen et al. 2021): sharpness rises to 2/η and hovers.",
        alt_text="Line plot of sharpness against training step for three learning rates; each curve rises and then flattens at its own dashed threshold 2 over eta.",
        spec={
            "kind": "line",
            "title": "Edge of stability with gradient descent",
            "x_label": "step",
            "y_label": "sharpness",
            "x_log": False,
            "y_log": False,
            "hand_drawn": False,
            "series": [
                {
                    "name": f"$\\eta = {lr}$",
                    **_curve(range(0, 3001, 150), lambda t, lr=lr: min(2 / lr, 5 + t * 0.05)),
                }
                for lr in (0.01, 0.02, 0.04)
            ],
        },
    ),
}


def _example_image(spec: dict, fmt: str) -> bytes:
    """An "uploaded" example: a clean figure, saved as a photo-editor would (with EXIF)."""
    import io

    from PIL import Image

    from rfp_portal.rendering.sketch import draw_sketch

    with Image.open(io.BytesIO(draw_sketch(spec))) as image:
        out = io.BytesIO()
        image.convert("RGB").save(out, fmt, quality=92)
        return out.getvalue()


def has_data(session: Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(User)) > 0


def delete_everything(session: Session) -> list[str]:
    """Delete every row; return the storage keys that were in use (collect them after commit)."""
    keys = [k for pair in session.execute(sa.select(Plot.image_key, Plot.thumb_key)) for k in pair]
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(table.delete())
    search.clear_index(session)
    session.flush()
    return keys


def load(session: Session, store: ImageStore) -> str:
    """Add the demo people, RFPs and plots; return a short summary of what was added."""
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
        people[username].email_confirmed_at = clock.now()  # demo people need no link
        if username in PROFILES:
            draft = ProfileDraft(display_name=name, **PROFILES[username])
            update_profile(session, user=people[username], draft=draft)
    now = clock.now()
    rfps = []
    for index, spec in enumerate(RFPS):
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
        rfp = submit_rfp(session, author=people[spec["author"]], draft=draft, no_plot_yet=True)
        rfp.created_at = rfp.updated_at = now - timedelta(days=spec["days_ago"])
        rfps.append(rfp)
        author = people[spec["author"]]
        if index in SKETCHES:
            add_sketch(session, store, rfp=rfp, actor=author, **SKETCHES[index])
        if index in EXAMPLES:
            example = EXAMPLES[index]
            add_example_plot(
                session,
                store,
                rfp=rfp,
                actor=author,
                data=_example_image(example["spec"], "JPEG" if index else "WEBP"),
                caption=example["caption"],
                alt_text=example["alt_text"],
            )
    session.flush()
    jams = _load_jams(session, people, rfps, now)
    events = _load_events(session, people, now)
    claims, comments = _load_claims_and_comments(session, store, people, rfps, now)
    # "I want this plot too": a few people on most open RFPs, so "most wanted" has something.
    for index, rfp in enumerate(rfps):
        fans = [p for p in people.values() if rfp.can_be_wanted_by(p)]
        for fan in fans[: (len(RFPS) - index) % 4]:
            set_want(session, rfp=rfp, user=fan, want=True)
    # The demo's history is not news: nobody is mailed about it (reminders still come due).
    session.execute(sa.delete(OutboxMessage))
    plots = session.scalar(sa.select(sa.func.count()).select_from(Plot))
    return (
        f"{len(PEOPLE)} people (password {DEMO_PASSWORD!r}), {len(RFPS)} RFPs, {plots} plots, "
        f"{claims} claims, {comments} comments, {jams} Research Jams, {events} other events"
    )


# The community page's Research Jams: Wednesdays, 4 pm Pacific.
COMMUNITY_JAMS = [(1, date(2021, 3, 31)), (2, date(2021, 6, 2)), (3, date(2021, 8, 4))]
# Which RFP (by index in RFPS) was presented at which Jam (the upcoming one's come from slots).
PRESENTED = [(4, 1), (0, 2), (3, 3), (1, 3)]


def _load_jams(session, people, rfps, now) -> int:
    """Jams #1–#3 from the community page, one upcoming a few weeks out, and presentations."""
    from rfp_portal.services.jams import JamDraft, create_jam, link_to_jam

    host = people["jamhost"]
    description = (
        "The Research Jam is a research lab meeting open to all. Anyone is welcome to share small "
        "updates on what they're working on or present an idea as a **Request for Plot**."
    )
    days_to_wednesday = (2 - now.date().weekday()) % 7
    upcoming = now.date() + timedelta(days=21 + days_to_wednesday)
    jams = {}
    for number, day in [*COMMUNITY_JAMS, (4, upcoming)]:
        draft = JamDraft(
            number=number,
            title="Open Collab Research Jam",
            local_start=datetime.combine(day, time(16, 0)),
            timezone="America/Los_Angeles",
            duration_minutes=90,
            join_url="https://mlcollective.org/community/",
            description=description,
            # The upcoming Jam takes offers of slots until two days before.
            offers_close=datetime.combine(day - timedelta(days=2), time(16, 0))
            if number == 4
            else None,
        )
        jams[number] = create_jam(session, organiser=host, draft=draft, now=now)
    for index, number in PRESENTED:
        jam = jams[number or 4]
        rfp = rfps[index]
        link_to_jam(
            session,
            rfp=rfp,
            jam=jam,
            person=rfp.author,
            slides_url=None,
            recording_url=None,
            now=now,
        )
        # presented in 2021: the RFP dates from just before its Jam
        rfp.created_at = rfp.updated_at = jam.starts_at - timedelta(days=6)
    _load_agenda(session, people, rfps, jams[4], now)
    session.flush()
    return len(jams)


def _load_agenda(session, people, rfps, jam, now) -> None:
    """The upcoming Jam's agenda: two slots accepted (an RFP, then an update), one offer waiting."""
    from rfp_portal.services.agenda import SlotOffer, accept_slot, offer_slot

    host = people["jamhost"]
    rfp = rfps[2]
    offers = [
        (rfp.author, SlotOffer(kind=SlotKind.RFP, minutes=20, rfp=rfp), True),
        (
            people["jun"],
            SlotOffer(
                kind=SlotKind.UPDATE,
                minutes=10,
                title="Grokking on modular addition: first curves",
                line="Train and test accuracy over 50k steps for three weight decays.",
                link_url="https://github.com/mlcollective",
            ),
            True,
        ),
        (
            people["sam"],
            SlotOffer(
                kind=SlotKind.UPDATE,
                minutes=5,
                title="Looking for a partner on loss-landscape plots",
                line="I have the code for 1-D interpolations and would love a second pair of eyes.",
            ),
            False,
        ),
    ]
    for person, offer, accepted in offers:
        slot = offer_slot(session, jam=jam, person=person, offer=offer, now=now)
        if accepted:
            session.refresh(jam, ["slots"])
            accept_slot(session, slot=slot, organiser=host, now=now)


# The community page's other series (times as it gives them: Sundays 10 am Pacific for the
# OpenClubHouse). It names the ICLR 2021 social's day (Thursday 6 May) but not its hour, and the
# NeurIPS 2020 social's neither: those hours are the demo's own, said so in their descriptions.
CLUBHOUSE_DAYS = [
    date(2021, 3, 14),
    date(2021, 4, 11),
    date(2021, 5, 9),
    date(2021, 6, 6),
    date(2021, 8, 1),
]
CLUBHOUSE_DESCRIPTION = (
    "It's just people sitting around and talking like in ClubHouse but you don't need an iPhone "
    "or an invite. You can also easily type your comments and share links at the accompanying "
    "text channel."
)
SOCIALS_DESCRIPTION = (
    "A social on Open Collaboration in ML Research. Open Collaboration Socials at major ML conferences: a panel on the importance of "
    "collaboration, an icebreaker that matches people at random to meet and greet, and a hangout "
    "with focused topics led by pioneers of the field."
)
SOCIALS = [
    # (title, conference, conference page, local start in Pacific time, minutes, note)
    (
        "NeurIPS 2020 Social",
        "NeurIPS 2020",
        "https://neurips.cc/Conferences/2020",
        datetime(2020, 12, 9, 9, 0),
        120,
        "Our inaugural social. The community page gives no date for it; the demo shows it on a "
        "day of the conference.",
    ),
    (
        "ICLR 2021 Social",
        "ICLR 2021",
        "https://iclr.cc/Conferences/2021",
        datetime(2021, 5, 6, 9, 0),
        120,
        "Thursday 6 May, as the community page says; its hour here is the demo's own.",
    ),
]


def _load_events(session, people, now) -> int:
    """MLC OpenClubHouse #1–#5 and the two conference socials, from the community page."""
    from rfp_portal.services.events import (
        EventDraft,
        SeriesDraft,
        add_series,
        create_event,
    )

    host = people["jamhost"]
    clubhouse = add_series(
        session,
        draft=SeriesDraft(
            name="MLC OpenClubHouse",
            slug="openclubhouse",
            kind=SeriesKind.NUMBERED,
            description=CLUBHOUSE_DESCRIPTION,
        ),
        now=now,
    )
    socials = add_series(
        session,
        draft=SeriesDraft(
            name="Conference socials",
            slug="socials",
            kind=SeriesKind.NAMED,
            description=SOCIALS_DESCRIPTION,
        ),
        now=now,
    )
    count = 0
    for number, day in enumerate(CLUBHOUSE_DAYS, start=1):
        draft = EventDraft(
            number=number,
            title="Sunday hangout",
            local_start=datetime.combine(day, time(10, 0)),
            timezone="America/Los_Angeles",
            duration_minutes=60,
            join_url="https://mlcollective.org/community/",
            description=CLUBHOUSE_DESCRIPTION,
        )
        create_event(session, organiser=host, series=clubhouse, draft=draft, now=now)
        count += 1
    for title, conference, page, start, minutes, note in SOCIALS:
        draft = EventDraft(
            number=None,
            title=title,
            conference=conference,
            link_url=page,
            local_start=start,
            timezone="America/Los_Angeles",
            duration_minutes=minutes,
            join_url=None,
            description=f"{SOCIALS_DESCRIPTION}\n\n{note}",
        )
        create_event(session, organiser=host, series=socials, draft=draft, now=now)
        count += 1
    return count


RESULT_SPECS = {
    3: {
        "kind": "line",
        "title": "CKA to the final epoch, small CNN on CIFAR-10",
        "x_label": "epoch",
        "y_label": "CKA",
        "series": [
            {
                "name": f"conv{k}",
                **_curve(range(0, 31, 2), lambda t, k=k: 1 - 0.85 * 0.6 ** (t / k)),
            }
            for k in (1, 2, 3, 4)
        ],
    },
    4: {
        "kind": "bar",
        "title": "Forgetting events: clean vs flipped labels (CIFAR-10, 10% flipped)",
        "x_label": "forgetting events",
        "y_label": "share of examples",
        "series": [
            {"name": "clean", "x": ["0", "1", "2", "3+"], "y": [0.74, 0.15, 0.06, 0.05]},
            {"name": "flipped", "x": ["0", "1", "2", "3+"], "y": [0.08, 0.12, 0.18, 0.62]},
        ],
    },
}


def _load_claims_and_comments(session, store, people, rfps, now) -> tuple[int, int]:
    """Claims in every state (active, check-in due, expired, delivered, accepted) and threads."""
    from rfp_portal.models import ClaimPolicy
    from rfp_portal.services.claims import accept_delivery, claim_rfp, deliver_result, post_progress
    from rfp_portal.services.comments import post_comment

    policy = ClaimPolicy()
    ago = lambda days: now - timedelta(days=days)  # noqa: E731 - a tiny local helper

    def claim(rfp, who, days, note=""):
        return claim_rfp(
            session, rfp=rfp, person=people[who], note=note, now=ago(days), policy=policy
        )

    def say(rfp, who, days, body):
        return post_comment(
            session, rfp=rfp, author=people[who], body=body, now=ago(days), policy=policy
        )

    # Active, with progress: Sam on the learning-rate RFP.
    active = claim(
        rfp=rfps[0],
        who="sam",
        days=9,
        note="I'll start with the MLP on MNIST: it trains in minutes on my laptop.",
    )
    post_progress(
        session,
        claim=active,
        person=people["sam"],
        body="Swept 9 batch sizes × 6 learning rates for the MLP. The optimum moves linearly up to $B = 256$ so far.",
        now=ago(2),
        policy=policy,
    )
    # Check-in due: María claimed the same RFP 25 days ago and has not posted since.
    claim(rfp=rfps[0], who="maria", days=25, note="ResNet-18 side, on one GPU.")
    # Expired: Sam's claim on the lottery-ticket RFP went quiet 40 days ago.
    claim(rfp=rfps[1], who="sam", days=40, note="Going to reuse OpenLTH's code.")
    # Delivered, waiting for the author: Jun on the CNN-filters RFP.
    delivered = claim(
        rfp=rfps[3], who="jun", days=20, note="Small CNN, PyTorch, CKA from the `torch-cka` recipe."
    )
    deliver_result(
        session,
        store,
        claim=delivered,
        person=people["jun"],
        result_url="https://github.com/example/cnn-layer-convergence",
        write_up="conv1 settles by epoch **4**, conv4 only after epoch 20 — early layers do converge first. "
        "Freezing conv1–2 at epoch 8 cost 0.3% accuracy and saved 18% of the backward pass.",
        image=_example_image(RESULT_SPECS[3], "PNG"),
        caption="CKA similarity to the final epoch, one line per layer.",
        alt_text="Line plot of CKA to the final epoch against epoch for four conv layers; conv1 reaches 0.95 by epoch 4, conv4 by epoch 22.",
        now=ago(3),
    )
    # Delivered and accepted: Ada on the label-noise RFP, which is now completed.
    accepted = claim(rfp=rfps[4], who="ada", days=30)
    deliver_result(
        session,
        store,
        claim=accepted,
        person=people["ada"],
        result_url="https://colab.research.google.com/drive/example-forgetting",
        write_up="With 10% of labels flipped, 62% of flipped examples are forgotten 3+ times, against 5% of clean ones. "
        "A threshold at 3 events finds 71% of the noise at 90% precision.",
        image=_example_image(RESULT_SPECS[4], "PNG"),
        caption="Forgetting events per example, clean and flipped labels.",
        alt_text="Bar chart: most clean examples are never forgotten; most flipped ones are forgotten three or more times.",
        now=ago(8),
    )
    accept_delivery(session, claim=accepted, person=people["jun"], now=ago(7))
    comments = [
        say(
            rfps[0],
            "sam",
            8,
            "Should the x axis count *examples seen* or optimiser steps? The paper uses epochs.",
        ),
        say(
            rfps[0],
            "ada",
            8,
            "Examples seen — otherwise big batches get fewer updates and the comparison is unfair.",
        ),
        say(
            rfps[0],
            "maria",
            6,
            "There's a nice discussion of this in [McCandlish et al.](https://arxiv.org/abs/1812.06162), section 3.",
        ),
        say(rfps[4], "maria", 7, "Lovely result! Did you try 20% noise as well?"),
        say(rfps[4], "ada", 6, "Not yet — happy to, if someone wants to pair on it."),
        say(
            rfps[2],
            "sam",
            3,
            "Is this doable without a cluster if I stick to models under 100M parameters?",
        ),
    ]
    session.flush()
    return 5, len(comments)
