"""Tables formatted for the report (:mod:`nnvisual.report.comparison`); Tables 1-3 with the
paper's numbers are checked end to end in test_report.py."""

from nnvisual.report.comparison import make_table, training_comparison, training_run


def test_a_training_table_names_what_sets_its_run_apart():
    manifest = {"config": {"model": "plotka", "epochs": 10, "num_classes": 1000, "subset": 500},
                "epochs_done": 4, "precision": "mixed_bfloat16"}
    assert training_run(manifest) == {
        "model": "plotka", "details": "4 epochs, 1000-way head, subset of 500 images, in mixed_bfloat16",
        "numbered": False}
    assert training_run({"config": {"model": "bonaccorso", "epochs": 250}, "precision": "float32"}) == {
        "model": "bonaccorso", "details": "250 epochs", "numbered": True}


def test_a_1000_way_plotka_is_not_titled_as_the_papers_table_1():
    header = ["metric", "training", "validation", "paper_training", "paper_validation"]
    rows = [["Accuracy", "0.7", "0.6", "0.5", "0.5"]]
    wide = training_comparison(header, rows, "m.csv", **training_run(
        {"config": {"model": "plotka", "num_classes": 1000}}))
    study = training_comparison(header, rows, "m.csv", **training_run({"config": {"model": "plotka"}}))
    assert wide.title == "plotka (? epochs, 1000-way head), ours vs. the paper"
    assert study.title == "Table 1: plotka (? epochs), ours vs. the paper"


def test_a_model_the_paper_did_not_train_has_no_table_number():
    header = ["metric", "training", "validation", "paper_training", "paper_validation"]
    table = training_comparison(header, [["Accuracy", "0.7", "x", "0.5", "0.5"]], "m.csv",
                                model="vgg16", details="1 epochs")
    assert table.title == "vgg16 (1 epochs), ours vs. the paper"
    # a run made before training_evaluated existed: n/a, and Δ training from the logged value
    assert table.rows == (("Accuracy", "0.700", "n/a", "0.500", "+0.200", "n/a", "0.500", "n/a",
                           "n/a"),)


def test_other_tables_are_formatted_and_long_ones_cut():
    manifest = {"command": "deconv"}
    cells = [["007", "3.14159", "nan", "abc", " 12 ", "1e-7"]]
    table = make_table(manifest, "tables/cells.csv", list("abcdef"), cells, "l.csv")
    assert (table.title, table.paper, table.total_rows) == ("cells.csv", False, 1)
    assert table.rows == (("007", "3.142", "n/a", "abc", "12", "1e-07"),)
    assert len(make_table(manifest, "tables/t.csv", ["i"], [[str(i)] for i in range(25)], "").rows) == 25
    cut = make_table(manifest, "tables/t.csv", ["i"], [[str(i)] for i in range(26)], "")
    assert (len(cut.rows), cut.rows[-1], cut.total_rows) == (20, ("19",), 26)


def test_only_the_runs_own_tables_are_compared():
    header = ["phase", "mean", "median"]
    rows = [["before", "0.1", "0.2"]]
    assert make_table({"command": "score-bow"}, "tables/table3.csv", header, rows, "").paper
    other = make_table({"command": "maximize"}, "tables/table3.csv", header, rows, "")
    assert not other.paper and other.rows == (("before", "0.1", "0.2"),)
    metrics = ["metric", "training", "validation"]  # no paper columns: shown as it is
    assert not make_table({"command": "train"}, "tables/metrics.csv", metrics, [], "").paper
