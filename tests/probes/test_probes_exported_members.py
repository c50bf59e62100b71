import ulterior.probes


def test_exported_members() -> None:
    public = {name for name in dir(ulterior.probes) if not name.startswith("_")}
    assert set(ulterior.probes.__all__) <= public
    assert sorted(ulterior.probes.__all__, key=str.lower) == sorted(
        set(ulterior.probes.__all__), key=str.lower)
    assert {"ActivationCapturer", "LogisticProbe", "DiffMeanProbe", "CovAdjustedDiffMeanProbe",
            "fit_probe", "sweep_layers", "generalization_matrix", "monitor_transcripts",
            "probe_readout"} <= set(ulterior.probes.__all__)
