"""Undoing obfuscations before the model reads an entry: look-alike letters, leetspeak, letters split
by dots, hyphens, underscores, asterisks or spaces, and sentences spelt letter by letter. Fast: no model."""

import time
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.normalize import LOOKALIKES, normalize_for_model

# --- positives: obfuscated -> what the model reads ------------------------------------------------

LOOKALIKE_CASES = [
    ("ɑttɑck on the village", "attack on the village"),  # Latin alpha
    ("the bᴏdy was found", "the body was found"),  # small capital O
    ("ҽxecution video", "execution video"),  # Cyrillic Abkhasian che
    ("kıll them all", "kill them all"),  # dotless i
    ("doոate now", "donate now"),  # Armenian vo
    ("ꜱhot dead", "shot dead"),  # small capital S
    ("bloоԁy scenes", "bloody scenes"),  # Cyrillic o and Komi de
    ("һead wound", "head wound"),  # Cyrillic shha
    ("bӏood on the floor", "blood on the floor"),  # palochka
    ("ɡunman opened fire", "gunman opened fire"),  # script g
    ("ʟooting in the town", "looting in the town"),  # small capital L
    ("ᴄorpses in the street", "corpses in the street"),  # small capital C
    ("ꮃar crimes", "war crimes"),  # Cherokee small la
    ("Ꮃar crimes", "War crimes"),  # Cherokee capital la
    ("sսicide bomber", "suicide bomber"),  # Armenian seh
    ("ᴋɪʟʟ now", "kill now"),  # a whole word of small capitals
    ("Ѕubѕсribe now", "Subscribe now"),  # Cyrillic look-alikes, as before
    ("the ѕех tape", "the sex tape"),  # a whole word of Cyrillic look-alikes between Latin words
    ("he said а man was shot", "he said a man was shot"),  # a Cyrillic "а" alone between Latin words
    ("ԁоnаtе", "donate"),  # Cyrillic look-alikes inside a word with Latin "n" and "t"
    ("ѕех", "ѕех"),  # a word only of Cyrillic look-alikes with no Latin word around stays
    ("сор ѕех", "сор ѕех"),  # ... and so do several
]

LEET_CASES = [
    ("sh0t in the h3ad", "shot in the head"),
    ("k1ll them", "kill them"),
    ("bl00d everywhere", "blood everywhere"),
    ("b1ood everywhere", "blood everywhere"),
    ("d0n4te now", "donate now"),
    ("r@pe case", "rape case"),
    ("$hot dead", "shot dead"),
    ("5h0t dead", "shot dead"),
    ("ki||ed", "killed"),
    ("ki11ed", "killed"),
    ("k!ll", "kill"),
    ("!njured", "injured"),
    ("SH0T DEAD", "SHOT DEAD"),
    ("Sh0t dead", "Shot dead"),
    ("d34d", "dead"),
    ("1d10t", "idiot"),
    ("h4x0r", "haxor"),
    ("t3rr0r1st", "terrorist"),
    ("sh0t!", "shot!"),
    ("k1lled, police said", "killed, police said"),
    ("#k1ll", "#kill"),
    ("Ukra1ne", "Ukraine"),
    ("5|eeping", "sleeping"),
    ("ou7$ide", "outside"),
    ("pas$3ngers", "passengers"),
    ("sh0ts", "shots"),
    ("k1ll3r", "killer"),
    # a word whose only leet character is a leading digit is decoded only near plain leetspeak
    ("sh0t and 7aken away", "shot and taken away"),
    ("the 5cene where k1ll3rs met", "the scene where killers met"),
    ("bodies lying @mong the r3mains", "bodies lying among the remains"),
]

SEPARATED_CASES = [
    ("s.h.o.t in the head", "shot in the head"),
    ("s-h-o-t in the head", "shot in the head"),
    ("s_h_o_t in the head", "shot in the head"),
    ("b*l*o*o*d on the floor", "blood on the floor"),
    ("the k.i.l.l.e.r", "the killer"),
    ("d-o-n-a-t-e today", "donate today"),
    ("he was s.h.o.t. in the head", "he was shot in the head"),
    ("he was s.h.o.t.", "he was shot."),
    ("S-H-O-T", "SHOT"),
    ("g.u.n", "gun"),
]

SPACED_CASES = [
    ("s h o t in the head", "shot in the head"),
    ("d o n a t e now", "donate now"),
    ("s  h  o  t in the head", "shot in the head"),
    ("b  l  o  o  d", "blood"),
    ("was a s  h  o  t in", "was a shot in"),
    ("s  h  o  t h  e  a  d", "shot head"),
    ("g u n", "gun"),
    ("B R E A K I N G  N E W S", "BREAKING NEWS"),
    ("s h o t!", "shot!"),
    ("s h ᴏ t", "shot"),
    ("(s h o t)", "(shot)"),
    ("s h o t's", "shot's"),
    ("his neighbour's r  e  m  a  i  n  s", "his neighbour's remains"),
    ("p  l  e  d  g  e  d A$30m", "pledged A$30m"),  # "A$30m" is not a single letter
]

SPELT_SENTENCE_CASES = [
    ("s h o t  i n  t h e  h e a d", "shot in the head"),
    ("i  a m  a  l i a r", "i am a liar"),
    ("h e  w a s  s h o t  d e a d .", "he was shot dead."),
    ("2 4 - y e a r - o l d  m a n ,  s h o t .", "24-year-old man, shot."),
    ("b l o o d  o n  t h e  f l o o r . A man", "blood on the floor. A man"),
    ("d o n a t e  £ 1 0  t o d a y", "donate £10 today"),
    ("Witnesses said s h o t  i n  t h e  f a c e .", "Witnesses said shot in the face."),
]


@pytest.mark.parametrize(
    "text, expected",
    LOOKALIKE_CASES + LEET_CASES + SEPARATED_CASES + SPACED_CASES + SPELT_SENTENCE_CASES,
)
def test_obfuscation_is_undone(text, expected):
    assert normalize_for_model(text) == expected


# --- negatives: ordinary text that must come through unchanged ------------------------------------

UNCHANGED = [
    # numbers, prices, times, dates, phone numbers
    "The 4x4 overturned on the A38 near Exeter at 10:30 on 2024-05-01.",
    "Shares rose 3.5% to £3.50; the deal is worth $4.5bn (A$5bn, US$3m, €2.1m, HK$10).",
    "Call 0800 111 999 or +44 20 7946 0958, or text HELP to 70500.",
    "The match ended 2-1; the final score was 7-0 after 90 minutes.",
    "He ran the 4x100m relay in 38.2s and the marathon in 2h05m; she did 1h30m and 3m45s.",
    "Open 24/7 since 9/11; the 1990s and mid-2020s; the 1st, 2nd, 3rd and 4th of May.",
    "Doors open at 10am and close at 5pm; the 7pm show is sold out.",
    # codes, models, names with digits
    "COVID-19, H1N1 and H5N1 were discussed at the G20 and G7 summits in Q3.",
    "The F1 season, a B2B platform, a 3D printer, 5G and 4K screens, MP3s and mp3s.",
    "Boeing 737, Airbus A380, flight MH370, the F-35, a T-90 tank and the MiG-29.",
    "The Pfizer BNT162b2 and Moderna mRNA-1273 vaccines; HbA1c tests; N95 masks; CO2 and H2O.",
    "Windows Win10 and iOS17 updates; x86_64 builds; Y2K fears; the R2D2 and C-3PO toys.",
    "Posts began circulating on 4chan and 7plus; the band U2 and Maroon5; Area51 and Route66.",
    "Apollo11 landed; PS5s and F1s sold out; a 3fa9c1e8b commit.",
    "#G20 #COVID19 #Election2024 #F1",
    # abbreviations and letters
    "Officials in the U.S. and U.K. said, e.g. at 9 a.m. on Monday, that the U.S.-led force would stay.",
    "The F.B.I. and the U.S.A. team; J.R.R. Tolkien; Ph.D. students; i.e. the rest.",
    "She took her A-levels, had an x-ray, wore a T-shirt and made a U-turn in a T-Mobile shop.",
    "I am a doctor, and I said I would go; plan B is a bad idea.",
    "Vitamins A, B and C; Q&A; rock 'n' roll; don't; o'clock; the G7's leaders.",
    "George R R Martin and T S Eliot wrote books; the p-p-please stammer.",
    "Scattered Lapsus$ Hunters claimed the attack; the $TSLA and $KOALA tokens fell.",
    "The menu read news|sport|weather and the page home|news.",
    # URLs, e-mail addresses, handles, payment addresses
    "Donate at https://example.org/k1ll?id=3 or www.b1ood.org, or mail r3lief@examp1e.com.",
    "Send money by UPI to keralacmdrf@sbi or cmrf.assam@sbi, said @k1ller and @BBCBreaking.",
    "Tickets at suirvalley5k.ie and kavitha4agara.in.",
    # non-Latin scripts
    "Москва и Санкт-Петербург: а я в это время был дома.",
    "Η Αθήνα και η Θεσσαλονίκη είναι πόλεις.",
    "Հայաստանի մայրաքաղաքն է։",
    "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ",
    "قُتل ثلاثة أشخاص في الهجوم",
    "北京时间下午三点",
    "Il y a à peine deux jours, à Paris.",
    "Łódź, Kraków, Øresund, Þingvellir, Əliyev, Straße.",
    # emoji
    "Pray for them 🙏🔥😱 🇺🇦",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_text_is_unchanged(text):
    assert normalize_for_model(text) == text


def test_turkish_dotless_i_is_folded_like_its_usual_ascii_spelling():
    # Documented behaviour: "ı" is a look-alike of "i" (as in "kıll"), so Turkish words take their usual
    # ASCII spelling; the uncased tokenizer reads these better than with "ı".
    assert normalize_for_model("Bayraklı, Yıldız") == "Bayrakli, Yildiz"


# --- plain prose: never changed, and normalising is idempotent ------------------------------------

PLAIN_SENTENCES = [
    "The council approved its budget on Wednesday evening after a three-hour debate.",
    "Police said two men were arrested and a third is being sought.",
    "The minister told reporters she would not resign over the report.",
    "Heavy rain caused flooding across the north of the county overnight.",
    "A spokesperson for the hospital said the patient was in a stable condition.",
    "Shares in the company fell sharply after it cut its sales forecast.",
    "The school was rated good in every area by inspectors.",
    "Rescue teams reached the village by boat on Thursday morning.",
    "The prime minister is expected to announce the plan next week.",
    "Fans queued for hours outside the stadium before the final.",
    "The court heard that the defendant had no previous convictions.",
    "Firefighters spent the night damping down the remains of the warehouse.",
    "The charity said demand for its food parcels had doubled this year.",
    "Witnesses described hearing a loud bang shortly after midnight.",
    "The bridge will remain closed while engineers assess the damage.",
    "Talks between the two sides are due to resume in Geneva on Monday.",
    "The airline cancelled dozens of flights because of the strike.",
    "Scientists said the discovery could change how the disease is treated.",
    "The mayor thanked volunteers who helped clear the streets.",
    "Temperatures are forecast to fall below freezing later this week.",
    "The report found that waiting times had risen in every region.",
    "He was taken to hospital with injuries that are not thought to be serious.",
    "The museum reopens to the public in the spring after a long refurbishment.",
    "Officials said the cause of the fire was not yet known.",
    "The striker scored twice as the home side won comfortably.",
    "Residents were told to keep their windows and doors closed.",
    "The company said it would create about a hundred new jobs.",
    "Protesters gathered outside parliament for a second day.",
    "The inquiry will publish its findings at the end of the year.",
    "A man has been charged with theft and will appear in court next month.",
    "The storm brought down trees and power lines across the region.",
    "Teachers voted to accept the pay offer by a large majority.",
    "The festival attracted more visitors than ever before.",
    "Doctors urged people to get vaccinated before the winter.",
    "The ship was escorted into port by two coastguard vessels.",
    "The new law comes into force at the start of April.",
    "A review of the incident is under way, the force said.",
    "Farmers warned that the dry summer would hit the harvest.",
    "The singer cancelled the rest of the tour on medical advice.",
    "Voters in the district go to the polls on Thursday.",
    "The train operator apologised for the delays.",
    "Investigators recovered the flight recorders from the wreckage.",
    "The library will extend its opening hours from June.",
    "Engineers restored power to most homes by the evening.",
    "The club confirmed that its manager had left by mutual consent.",
    "Aid agencies said the camp was running short of clean water.",
    "The judge adjourned the case until next week.",
    "Officers seized drugs and cash during the raid.",
    "A statue of the poet was unveiled in the town square.",
    "I think it is a good idea, and so do a lot of people.",
    "What happens next is not clear, a senior official said.",
    "They said the plan was a step in the right direction.",
    "The U.S. and the U.K. signed the agreement on Friday.",
    "At 9 a.m. on Monday, about 300 people had gathered.",
    "The vote was 31 to 17, with two abstentions.",
]


def test_there_are_enough_plain_sentences():
    assert len(PLAIN_SENTENCES) >= 50 and len(set(PLAIN_SENTENCES)) == len(PLAIN_SENTENCES)


@pytest.mark.parametrize("text", PLAIN_SENTENCES)
def test_plain_prose_is_unchanged(text):
    assert normalize_for_model(text) == text


def test_a_whole_article_of_plain_prose_is_unchanged():
    article = " ".join(PLAIN_SENTENCES) + "\n" + "\n".join(UNCHANGED)
    assert normalize_for_model(article) == article


_SAMPLES = (
    [t for t, _ in LOOKALIKE_CASES + LEET_CASES + SEPARATED_CASES + SPACED_CASES + SPELT_SENTENCE_CASES]
    + UNCHANGED
    + PLAIN_SENTENCES
)
_PIECES = [
    "shot", "in", "the", "head", "a", "I", "U.S.", "e.g.", "k1ll", "5h0t", "7aken", "@bout", "relief@sbi",
    "s.h.o.t", "b*l*o*o*d", "s h o t", "s  h  o  t", "ѕех", "και", "Москва", "ɑttɑck", "ᴋɪʟʟ", "4x4",
    "£3.50", "10:30", "#G20", "COVID-19", "x-ray", "www.k1ll.com", "!", "|", "$5", "$hot", "ki||", ".",
    "-", "  ", "\n", "\t", "a.m.", "F.B.I.", "4chan", "\u200b", "ｆｕｌｌ",
]


@pytest.mark.parametrize("text", _SAMPLES)
def test_idempotent_on_examples(text):
    once = normalize_for_model(text)
    assert normalize_for_model(once) == once


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(_PIECES), max_size=14).map(" ".join),
        st.lists(st.sampled_from(_PIECES), max_size=14).map("".join),
        st.lists(st.sampled_from(list("ab sh0t1l3475@$!|.-_*',\nAIеоѕɑᴏıꜱя")), max_size=40).map("".join),
    )
)
def test_idempotent(text):
    once = normalize_for_model(text)
    assert normalize_for_model(once) == once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PLAIN_SENTENCES), min_size=1, max_size=6))
def test_plain_prose_is_never_changed(sentences):
    text = " ".join(sentences)
    assert normalize_for_model(text) == text


# --- the look-alike table ------------------------------------------------------------------------


def test_lookalike_table_is_well_formed():
    for ch, latin in LOOKALIKES.items():
        assert unicodedata.normalize("NFKC", ch) == ch, f"{ch!r} is changed by NFKC before the table is used"
        assert len(latin) == 1 and latin.isascii() and latin.isalpha(), (ch, latin)
        assert not ch.isascii()


def test_letters_of_real_latin_orthographies_are_not_lookalikes():
    for ch in "łøðþəɛɔŋɓɗƙßàéüçğşİ":
        assert ch not in LOOKALIKES


# --- the behavioural suite's obfuscation rewrites -------------------------------------------------


def test_the_suite_rewrites_normalise_back_to_the_clean_case():
    """Each obfuscation family of the behavioural suite is undone for at least 95% of its rewrites."""
    from moderation_training.behaviour import OBFUSCATIONS, build_checks, load_cases

    clean = {case["id"]: normalize_for_model(case["text"]).lower() for case in load_cases()}
    per_family: dict[str, list[int]] = {family: [0, 0] for family in OBFUSCATIONS}
    for check in build_checks():
        if check.category in per_family:
            case_id = check.id.split("/")[0]
            per_family[check.category][0] += normalize_for_model(check.text).lower() == clean[case_id]
            per_family[check.category][1] += 1
    low = {family: f"{ok}/{total}" for family, (ok, total) in per_family.items() if ok < 0.95 * total}
    assert all(total > 0 for _, total in per_family.values())
    assert not low, f"families normalised back under 95%: {low}"


# --- speed ---------------------------------------------------------------------------------------


def _best_of(runs: int, fn, arg) -> float:
    """Fastest of a few runs: a busy machine slows some runs, never speeds one up."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize(
    "unit",
    ["a ", "a  ", "a b  ", "a.", "a-", "k1", "1k ", "x", " ", ".", "a@", "- ", "аb ", "sh0t 7aken ", "$a",
     "The council met again to discuss the budget. "],
)
def test_linear_time_on_long_awkward_input(unit):
    small, large = unit * (10_000 // len(unit)), unit * (100_000 // len(unit))
    t_small = _best_of(3, normalize_for_model, small)
    t_large = _best_of(3, normalize_for_model, large)
    assert t_large < 3.0 and t_large < 40 * t_small + 0.2  # ten times the text, not a hundred times the time
