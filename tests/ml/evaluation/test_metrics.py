"""Retrieval metrics against values worked out by hand for tiny rankings.

Emotion similarities used below, sim(a, b) = 1 - |VA(a) - VA(b)| with the table of docs/method.md#labels:
  sad (.225, .333) vs happy (1, .735):   1 - sqrt(.775² + .402²) = 1 - sqrt(.762229) = .126943
  sad vs calm (.442, .302):              1 - sqrt(.217² + .031²) = 1 - sqrt(.048050) = .780797
  sad vs angry (.122, .830):             1 - sqrt(.103² + .497²) = 1 - sqrt(.257618) = .492439
  sad vs scary (.062, .952):             1 - sqrt(.163² + .619²) = 1 - sqrt(.409730) = .359898
  sad vs tender (.630, .520):            1 - sqrt(.405² + .187²) = 1 - sqrt(.198994) = .553913
  angry vs scary:                        1 - sqrt(.060² + .122²) = 1 - sqrt(.018484) = .864044
  angry vs happy:                        1 - sqrt(.878² + .095²) = 1 - sqrt(.779909) = .116875
  angry vs calm:                         1 - sqrt(.320² + .528²) = 1 - sqrt(.381184) = .382599
  angry vs tender:                       1 - sqrt(.508² + .310²) = 1 - sqrt(.354164) = .404883
Sums of six-decimal terms are compared to within 5e-6.
Discounts 1/log2(rank + 1) for ranks 1..5: 1, .630930, .5, .430677, .386853.
"""

import numpy as np
import pytest

from ml.evaluation import metrics

CATALOGUE = ["happy", "sad", "calm", "angry", "scary", "tender"]


def test_rank_by_cosine_orders_by_angle_not_length():
    queries = np.array([[1.0, 0.0], [0.0, 1.0]])
    catalogue = np.array([[0.6, 0.8], [1.0, 0.0], [0.0, -1.0], [2.0, 2.0]])
    # q0 cosines: .6, 1, 0, .7071 -> [1, 3, 0, 2]; q1 cosines: .8, 0, -1, .7071 -> [0, 3, 1, 2]
    assert metrics.rank_by_cosine(queries, catalogue).tolist() == [[1, 3, 0, 2], [0, 3, 1, 2]]


def test_rank_by_cosine_breaks_ties_by_catalogue_order():
    assert metrics.rank_by_cosine(np.array([[1.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 1.0], [2.0, 2.0]])).tolist() == [
        [0, 2, 1]
    ]


def test_rank_by_cosine_refuses_mismatched_dimensions():
    with pytest.raises(ValueError, match=r"shape|need"):
        metrics.rank_by_cosine(np.ones((2, 3)), np.ones((4, 2)))


@pytest.mark.parametrize(
    "relevant, expected",
    [([False, True, False, True], 0.5), ([True], 1.0), ([False, False, False, True], 0.25), ([False, False], 0.0)],
)
def test_reciprocal_rank(relevant, expected):
    assert metrics.reciprocal_rank(relevant) == expected


def test_precision_divides_by_k_even_for_short_lists():
    # 2 relevant among the first 5 -> 2/5; a 3-item list with 1 hit is still 1/5 at k=5
    assert metrics.precision_at_k([True, False, True, False, False, True], 5) == pytest.approx(0.4)
    assert metrics.precision_at_k([True, False, False], 5) == pytest.approx(0.2)


def test_ndcg_ideal_ordering_comes_from_the_whole_list():
    gains = [0.5, 1.0, 0.0, 1.0, 0.2, 0.9]
    # DCG@5   = .5/1 + 1/1.584963 + 0/2 + 1/2.321928 + .2/2.584963 = .5 + .630930 + 0 + .430677 + .077371 = 1.638978
    assert metrics.dcg_at_k(gains, 5) == pytest.approx(1.638978, abs=5e-6)
    # ideal: 1, 1, .9, .5, .2 (the .9 at rank 6 counts) = 1 + .630930 + .45 + .215338 + .077371 = 2.373639
    # nDCG@5  = 1.638978 / 2.373639 = .690491
    assert metrics.ndcg_at_k(gains, 5) == pytest.approx(0.690491, abs=5e-6)
    assert metrics.ndcg_at_k([0.0, 0.0], 5) == 0.0


def test_one_query_all_metrics_by_hand():
    scores = metrics.query_scores("sad", CATALOGUE)  # ranked: happy, sad, calm, angry, scary, tender
    assert scores["mrr"] == pytest.approx(0.5)  # first sad music at rank 2
    assert scores["p_at_5"] == pytest.approx(0.2)  # one sad track in the top 5
    # DCG@5 = .126943 + 1*.630930 + .780797*.5 + .492439*.430677 + .359898*.386853
    #       = .126943 + .630930 + .390399 + .212082 + .139228 = 1.499582
    # ideal: 1, .780797, .553913, .492439, .359898
    #       = 1 + .492629 + .276957 + .212082 + .139228 = 2.120896;  nDCG = 1.499582 / 2.120896 = .707050
    assert scores["ndcg_at_5"] == pytest.approx(0.707050, abs=5e-6)
    # sim@5 = (.126943 + 1 + .780797 + .492439 + .359898) / 5 = 2.760077 / 5 = .552015
    assert scores["sim_at_5"] == pytest.approx(0.552015, abs=5e-6)
    # hard nDCG: only rank 2 relevant -> .630930 / 1 (ideal puts the one hit first)
    assert scores["ndcg_at_5_hard"] == pytest.approx(0.630930, abs=5e-6)


def test_score_rankings_averages_queries_and_groups_by_label():
    rankings = np.array([[0, 1, 2, 3, 4, 5], [4, 3, 0, 1, 2, 5]])
    report = metrics.score_rankings(["sad", "angry"], CATALOGUE, rankings)
    # angry query ranked: scary, angry, happy, sad, calm, tender; relevant = {angry, scary}
    #   MRR 1, P@5 2/5 = .4
    #   DCG@5 = .864044 + 1*.630930 + .116875*.5 + .492439*.430677 + .382599*.386853
    #         = .864044 + .630930 + .058438 + .212082 + .148010 = 1.913504
    #   ideal: 1, .864044, .492439, .404883, .382599
    #         = 1 + .545153 + .246220 + .174375 + .148010 = 2.113758;  nDCG = .905262
    #   sim@5 = (.864044 + 1 + .116875 + .492439 + .382599) / 5 = .571191;  hard nDCG = 1
    angry = report.per_label["angry"]
    assert angry["n_queries"] == 1
    assert (angry["mrr"], angry["p_at_5"]) == pytest.approx((1.0, 0.4))
    assert angry["ndcg_at_5"] == pytest.approx(0.905262, abs=5e-6)
    assert angry["sim_at_5"] == pytest.approx(0.571191, abs=5e-6)
    assert angry["ndcg_at_5_hard"] == pytest.approx(1.0)
    # means with the sad query above: MRR (.5 + 1)/2, P@5 (.2 + .4)/2, nDCG (.707050 + .905262)/2 = .806156
    assert report.overall["mrr"] == pytest.approx(0.75)
    assert report.overall["p_at_5"] == pytest.approx(0.3)
    assert report.overall["ndcg_at_5"] == pytest.approx(0.806156, abs=5e-6)
    assert report.overall["sim_at_5"] == pytest.approx((0.552015 + 0.571191) / 2, abs=5e-6)
    assert (report.n_queries, report.n_catalogue) == (2, 6)


def test_score_rankings_refuses_partial_rankings():
    with pytest.raises(ValueError, match="one full ranking per query"):
        metrics.score_rankings(["sad"], CATALOGUE, np.array([[0, 1, 2]]))


def test_confusion_matrix_counts_true_by_predicted():
    confusion = metrics.confusion_matrix(["sad", "sad", "angry"], ["sad", "neutral", "sad"])
    assert confusion == {
        "angry": {"angry": 0, "neutral": 0, "sad": 1},
        "sad": {"angry": 0, "neutral": 1, "sad": 1},
    }
    assert metrics.accuracy(["sad", "sad", "angry"], ["sad", "neutral", "sad"]) == pytest.approx(1 / 3)


def test_chance_level_of_a_two_track_catalogue():
    # One sad query, catalogue [sad, happy]; a random ranking puts sad first half of the time.
    chance = metrics.chance_scores(["sad"], ["sad", "happy"], trials=4000, seed=1)
    # MRR = .5 * 1 + .5 * 1/2 = .75; P@5 = 1/5 whatever the order (one relevant, divided by k = 5)
    assert chance["mrr"] == pytest.approx(0.75, abs=0.02)
    assert chance["p_at_5"] == pytest.approx(0.2)
    # nDCG@5: ideal = 1 + .126943 * .630930 = 1.080092; sad first -> 1;
    # happy first -> (.126943 + 1 * .630930) / 1.080092 = .701675; mean = .850838
    assert chance["ndcg_at_5"] == pytest.approx(0.850838, abs=0.01)
    # sim@5 averages both tracks in either order: (1 + .126943) / 2
    assert chance["sim_at_5"] == pytest.approx(0.563472, abs=5e-6)
