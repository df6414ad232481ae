from mmresist.interpret.timeline import assign_status
from mmresist.model import Sample, SampleIngest, VariantCall


def sample(sample_id: str, date: str, timepoint: str) -> Sample:
    return Sample("P1", sample_id, timepoint, date, f"{sample_id}.vcf")


def call(sample_id: str, pos: int, vaf: float | None, chrom: str = "chr14", gene="PSMB5"):
    return VariantCall(sample_id, chrom, pos, "C", "T", gene, vaf=vaf, alt_reads=None)


def ingest(sample_id: str, *calls: VariantCall) -> SampleIngest:
    return SampleIngest(sample_id=sample_id, vcf="x", tumor_sample="T", calls=list(calls))


def statuses(rows):
    return {(row[0].gene, row[0].pos): row[1] for row in rows}


def test_acquired_persistent_lost_across_two_timepoints():
    samples = [sample("REL", "2024-05-01", "relapse"), sample("DX", "2021-01-10", "diagnosis")]
    ingests = {
        "DX": ingest("DX", call("DX", 100, 0.30), call("DX", 300, 0.2, gene="TP53")),
        "REL": ingest("REL", call("REL", 100, 0.42), call("REL", 200, 0.15)),
    }
    rows = assign_status(samples, ingests)
    assert statuses(rows) == {
        ("PSMB5", 100): "persistent",
        ("PSMB5", 200): "acquired",
        ("TP53", 300): "lost",
    }


def test_history_keeps_vaf_of_every_timepoint_in_date_order():
    samples = [sample("REL", "2024-05-01", "relapse"), sample("DX", "2021-01-10", "diagnosis")]
    ingests = {
        "DX": ingest("DX", call("DX", 100, 0.3)),
        "REL": ingest("REL", call("REL", 100, 0.4)),
    }
    ((representative, status, history),) = assign_status(samples, ingests)
    assert representative.sample_id == "REL"
    assert [(h["sample_id"], h["vaf"], h["present"]) for h in history] == [
        ("DX", 0.3, True),
        ("REL", 0.4, True),
    ]


def test_acquired_variant_history_marks_absence_as_not_present_with_unknown_vaf():
    samples = [sample("DX", "2021-01-10", "diagnosis"), sample("REL", "2024-05-01", "relapse")]
    ingests = {"DX": ingest("DX"), "REL": ingest("REL", call("REL", 5, 0.2))}
    ((_, status, history),) = assign_status(samples, ingests)
    assert status == "acquired"
    assert history[0] == {
        "sample_id": "DX",
        "timepoint": "diagnosis",
        "collection_date": "2021-01-10",
        "vaf": None,
        "depth": None,
        "present": False,
    }


def test_lost_variant_is_represented_by_the_latest_sample_it_was_seen_in():
    samples = [
        sample("DX", "2020-01-01", "diagnosis"),
        sample("R1", "2021-01-01", "relapse"),
        sample("R2", "2023-01-01", "progression"),
    ]
    ingests = {
        "DX": ingest("DX", call("DX", 7, 0.1)),
        "R1": ingest("R1", call("R1", 7, 0.2)),
        "R2": ingest("R2"),
    }
    ((representative, status, _),) = assign_status(samples, ingests)
    assert (representative.sample_id, status) == ("R1", "lost")


def test_single_sample_gives_single_timepoint():
    rows = assign_status(
        [sample("S", "2024-01-01", "relapse")], {"S": ingest("S", call("S", 1, 0.5))}
    )
    assert [row[1] for row in rows] == ["single_timepoint"]


def test_chr_prefix_does_not_split_a_variant_across_timepoints():
    samples = [sample("DX", "2021-01-10", "diagnosis"), sample("REL", "2024-05-01", "relapse")]
    ingests = {
        "DX": ingest("DX", call("DX", 100, 0.3, chrom="14")),
        "REL": ingest("REL", call("REL", 100, 0.4, chrom="chr14")),
    }
    assert [row[1] for row in assign_status(samples, ingests)] == ["persistent"]


def test_zero_alt_support_is_not_presence():
    samples = [sample("DX", "2021-01-10", "diagnosis"), sample("REL", "2024-05-01", "relapse")]
    absent = VariantCall("DX", "chr14", 100, "C", "T", "PSMB5", vaf=0.0, alt_reads=0)
    ingests = {"DX": ingest("DX", absent), "REL": ingest("REL", call("REL", 100, 0.4))}
    assert [row[1] for row in assign_status(samples, ingests)] == ["acquired"]
