"""The cue lexicon: words and phrases that signal agency, blame and helplessness.

This module is data, kept apart from the code that matches it
(:mod:`accountability_nlp.preprocessing`) and the code that turns matches into
features (:mod:`accountability_nlp.features`). Phrases are written in plain
surface form; the pipeline lowercases and lemmatizes them the same way it
treats notes, so ``"drop the ball"`` also matches "Dropped the ball".

Each category has a short description of what it signals: explanations show
it next to the matched words.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

__all__ = ["CUE_LEXICON", "CUE_SIGNALS", "CATEGORIES"]

_LEXICON: dict[str, tuple[str, ...]] = {
    # Who is acting: the writer or their team.
    "self_agent": (
        "i", "we", "me", "my", "myself", "us", "our", "ourselves", "mine",
        "on my side", "on our side", "from my side", "from our side", "my team",
    ),
    # Who else might carry the cause.
    "external_actor": (
        "they", "them", "their", "customer", "client", "prospect", "buyer",
        "champion", "procurement", "purchasing", "legal", "lawyer", "finance",
        "cfo", "ceo", "cio", "cto", "board", "committee", "marketing", "product",
        "engineering", "dev team", "support", "management", "leadership",
        "my manager", "my boss", "head office", "hq", "corporate", "deal desk",
        "ops", "operations", "competitor", "competition", "incumbent", "vendor",
        "pricing", "price", "budget", "timing", "economy", "market", "territory",
        "lead", "sdr", "bdr", "partner", "reseller", "distributor", "roadmap",
        "feature", "integration", "it department", "it team", "security team",
        "decision maker", "gatekeeper", "government", "tender", "rfp",
    ),
    # Events and decisions on the other side that end deals.
    "external_event": (
        "too expensive", "cheaper", "undercut", "no budget", "budget cut",
        "budget freeze", "froze", "freeze", "frozen", "reorg", "restructure",
        "acquire", "acquisition", "merger", "layoff", "go with", "pick",
        "choose", "select", "award", "say no", "veto", "block", "pull out",
        "back out", "walk away", "stop answer", "stop respond", "go silent",
        "ghost", "leave the company", "quit", "lay off", "cancel", "churn",
        "downsize", "cut spend", "spend freeze", "hiring freeze", "missing feature",
        "no sso", "lack", "bad lead", "wrong persona", "not qualified",
        "unqualified", "mid-contract", "locked in", "incumbent", "status quo",
        "no decision", "out of budget", "over budget", "price increase",
    ),
    # Verbs of failing, omitting and misjudging.
    "failure_verb": (
        "miss", "fail", "forget", "skip", "ignore", "overlook", "underestimate",
        "overestimate", "assume", "misread", "misjudge", "oversell", "overpromise",
        "rush", "wait", "delay", "drop", "neglect", "botch", "blow", "screw up",
        "mess up", "let slip", "lose", "push", "mishandle", "mismanage",
        "overcomplicate", "neglect", "stall", "ghost", "go dark", "go quiet",
    ),
    # Grammatical negation; its scope is computed in features.
    "negation": (
        "not", "never", "no", "nothing", "none", "nobody", "without", "neither",
        "nor", "cannot", "hardly",
    ),
    # The writer takes the blame in so many words.
    "responsibility": (
        "on me", "on us", "my bad", "my fault", "my miss", "my mistake",
        "my responsibility", "our fault", "our miss", "our mistake", "my call",
        "drop the ball", "i own", "i own it", "i own that", "own this one",
        "take responsibility", "take the blame", "my doing", "mea culpa",
        "that one is mine", "that one's mine", "this one is mine", "i blew it",
        "i messed up", "i screwed up", "my error", "i was wrong", "i misjudged",
        "my part", "self-inflicted", "the pattern is me", "rep being me",
    ),
    # Regret and counterfactual modals.
    "regret": (
        "should have", "should've", "shouldve", "could have", "could've",
        "would have", "would've", "in hindsight", "looking back", "if i had",
        "if we had", "i wish", "wish i had", "had i", "had we", "lesson for me",
        "kick myself", "kicking myself", "should not have", "shouldn't have",
    ),
    # A concrete change the writer commits to.
    "commitment": (
        "next time i", "next time we", "going forward", "from now on",
        "i am going to", "i'm going to", "we are going to", "i now", "we now", "i've started", "i have started",
        "i'm adding", "i am adding", "adding a", "i've booked", "i booked",
        "i plan to", "my plan", "action item", "next step", "i'm changing",
        "change how i", "i need to", "we need to", "lesson learned", "learned",
        "starting now", "from here on", "in future", "in the future",
    ),
    # Promises with nothing in them.
    "empty_promise": (
        "next time", "next one", "get them next time", "get em next time",
        "win them back", "their loss", "moving on", "onwards", "onward",
        "we'll be back", "they'll be back", "they will come back", "come back",
        "next quarter", "next year", "on to the next", "try again", "reconnect",
        "circle back", "better luck", "do better", "upwards", "we'll see",
        "next cycle", "revisit", "keep in touch", "stay in touch",
    ),
    # The writer defends their own work or disclaims the cause.
    "self_defense": (
        "not my fault", "not on me", "out of my hands", "nothing to do with me",
        "not a sales issue", "not a sales problem", "did my part", "did my job",
        "did everything right", "did everything", "by the book", "my process",
        "sales did its job", "did all i could", "not our fault", "their fault",
        "to blame", "blame", "because of", "due to", "thanks to", "fault of",
        "on their side", "on their end", "their end", "their side", "their call",
        "on paper", "followed the process", "nailed the demo", "great demo",
        "perfect", "flawless", "by the numbers",
    ),
    # Nothing can be done.
    "helplessness": (
        "nothing i could do", "nothing we could do", "nothing anyone could do",
        "nothing i can do", "nothing we can do", "nothing to be done",
        "no way", "impossible", "hopeless", "pointless", "why bother",
        "what's the point", "what is the point", "no point", "give up",
        "can't win", "cannot win", "unwinnable", "rigged", "stacked",
        "doomed", "cursed", "out of my control", "beyond my control",
        "out of our control", "beyond our control", "does not matter",
        "doesn't matter", "didn't matter", "did not matter", "no matter what",
        "whatever i do", "whatever we do", "nothing works", "never works",
        "can't compete", "no chance", "waste of time", "set up to fail",
        "same story", "as usual", "here we go again", "again", "another one",
        "every time", "every single", "not closable", "dead end", "why me",
        "can't catch a break", "never going to", "not going to change",
        "what can you do", "what can i do", "it is what it is", "no control",
        "helpless", "lost cause", "nothing left", "what else is new",
    ),
    # Absolute quantifiers.
    "absolutist": (
        "always", "never", "nothing", "nobody", "no one", "everyone",
        "everything", "every", "ever", "constantly", "impossible", "completely",
        "totally", "entire", "whole", "all the time", "forever",
    ),
    # Emotional, self-pitying register.
    "emotion": (
        "tired", "exhausted", "sigh", "ugh", "frustrated", "frustrating", "sick of",
        "fed up", "unfair", "burned out", "burnt out", "drained", "depressing",
        "miserable", "i'm done", "i am done", "sad", "hate", "defeated",
        "demoralized", "demoralised", "crushed", "gutted", "unlucky", "bad luck",
        "luck", "honestly", "heartbreaking", "brutal", "soul-crushing", "cry",
        "can't take", "wear me down", "over it",
    ),
    # Irony markers; sarcastic self-blame reads as blame of others.
    "sarcasm": (
        "sure", "totally", "obviously", "of course", "yeah right", "clearly",
        "apparently", "lol", "lmao", "shocking", "what a surprise",
        "who could have guessed", "who knew", "must be my fault", "my fault for",
        "silly me", "how dare", "naturally", "love that", "great job",
        "thanks a lot", "/s", "🙄",
    ),
    # Things happened with no one doing them.
    "agentless": (
        "slip", "fall through", "go dark", "go cold", "fall apart", "get push",
        "be push", "get cut", "be cut", "get kill", "be kill", "be make",
        "die", "stall", "fizzle", "dry up", "evaporate", "go sideways",
        "go south", "get lose", "be lose", "fall off",
    ),
    # A turn in the argument: what follows usually carries the stance.
    "contrast": (
        "but", "however", "although", "though", "that said", "yet", "still",
        "even so", "admittedly", "to be fair", "honestly",
    ),
}

_SIGNALS: dict[str, str] = {
    "self_agent": "the writer or their team as actor",
    "external_actor": "an outside party or factor",
    "failure_verb": "a failure, omission or misjudgement",
    "negation": "negation",
    "responsibility": "takes responsibility",
    "regret": "regret or counterfactual",
    "commitment": "a concrete change committed to",
    "empty_promise": "a promise with nothing named",
    "external_event": "an event or decision on the other side",
    "self_defense": "defends own work or disclaims the cause",
    "helplessness": "helplessness: nothing can be done",
    "absolutist": "absolute language",
    "emotion": "emotional or self-pitying register",
    "sarcasm": "irony",
    "agentless": "things happened with no actor",
    "contrast": "a turn in the argument",
}

#: Category -> phrases. Read-only: edit this module to change the lexicon.
CUE_LEXICON: Mapping[str, tuple[str, ...]] = MappingProxyType(_LEXICON)
#: Category -> what a match signals, in words for explanations.
CUE_SIGNALS: Mapping[str, str] = MappingProxyType(_SIGNALS)
#: Categories in a fixed order.
CATEGORIES: tuple[str, ...] = tuple(_LEXICON)
