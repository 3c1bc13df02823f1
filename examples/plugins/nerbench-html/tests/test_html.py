from nerbench.api import lookup


def test_ranks_by_f1_and_escapes_names(tmp_path, nerbench_env):
    systems = [
        {"dataset": "lener_br", "split": "test", "system": name, "metrics": {"precision": f, "recall": f, "f1": f}}
        for name, f in (("<b>weak</b>", 0.1), ("strong & fast", 0.9))
    ]
    (path,) = lookup("reporters", "html")().render([{"systems": systems}], tmp_path)
    page = path.read_text(encoding="utf-8")
    assert page.index("strong &amp; fast") < page.index("&lt;b&gt;weak&lt;/b&gt;")
    assert "<b>weak" not in page
