"""``make demo`` end to end, on one sentence, one Adult row and one digit."""

from __future__ import annotations

from xplain import demo


def test_the_demo_writes_one_report_with_every_section(tmp_path, capsys):
    path = demo.main(["--out", str(tmp_path / "demo.html"), "--sentences", "1", "--images", "1"])
    html = path.read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    assert str(path.resolve()) in printed
    assert html.count("<section>") == 3
    assert html.count('<section class="instance"><h2>') == 3  # one heading per instance
    for method in (*demo.TEXT_METHODS, *demo.TREE_METHODS, *demo.IMAGE_METHODS):
        assert method in html
    assert "string" in html  # the first SST-2 dev sentence: "one long string of cliches ."
    assert "capital-loss" in html  # an Adult column
    assert "Rank agreement" in html and "deletion_auc" in html  # the tabular comparison
    assert html.count("data:image/png;base64,") >= len(demo.IMAGE_METHODS)
    assert "<script" not in html and "http://" not in html and "https://" not in html
