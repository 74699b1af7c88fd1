"""A realistic alert for `newswatch test-alert CHANNEL`.

It is the reference story of the project (Kompas.com, 21 November 2020) so a
test alert looks exactly like the real ones people will receive.
"""

from __future__ import annotations

from datetime import UTC, datetime

from worker.models import Alert, Article, Match, SourceInfo, Topic

SAMPLE_URL = (
    "https://www.kompas.com/global/read/2020/11/21/200000170/"
    "pm-armenia-minta-agar-relasi-militer-dengan-rusia-diperkuat"
)

SAMPLE_TEXT = """\
YEREVAN, KOMPAS.com - Perdana Menteri Armenia Nikol Pashinyan menyerukan adanya kooperasi \
militer dalam tingkat yang lebih besar dengan Rusia.

Pernyataan itu disampaikannya satu hari setelah pasukan Azerbaijan sampai di sebagian wilayah \
Nagorno-Karabakh yang ditinggalkan separatis.

Berdasarkan rilis dari kantornya, Pashinyan menerangkan dia berharap bisa bekerja sama dengan \
Rusia tak hanya di keamanan, tapi juga di militer dan teknis.

Pashinyan mengucapkannya dalam pertemuan dengan Menteri Pertahanan Rusia Sergei Shoigu di ibu \
kota Yerevan, dilaporkan AFP Sabtu (21/11/2020).

Pertemuan ini terjadi sehari setelah militer Azerbaijan mulai menempati sebagian \
Nagorno-Karabakh, wilayah yang sebelumnya diduduki separatis dari etnis Armenia."""


def sample_alert(channel_id: str) -> Alert:
    """A test alert bound for `channel_id`.

    Its id carries the current time: mail services drop a second message with
    a Message-ID they have already seen, and each `test-alert` run should arrive.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    topic = Topic(
        id="armenia-azerbaijan",
        name="Armenia–Azerbaijan",
        query="(armenia* OR yerevan OR pashinyan) AND (azerbaijan* OR baku OR aliyev) "
        'OR karabakh OR "nagorno-karabakh"',
        channels=(channel_id,),
    )
    article = Article(
        id="sample-kompas-20201121-pm-armenia",
        url=SAMPLE_URL,
        canonical_url=SAMPLE_URL,
        title="PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat",
        authors=("Ardi Priyatno Utomo",),
        published=datetime(2020, 11, 21, 13, 0, tzinfo=UTC),
        source=SourceInfo(id="kompas-global", name="Kompas.com", domain="kompas.com"),
        language="id",
        summary="Perdana Menteri Armenia Nikol Pashinyan menyerukan adanya kooperasi militer "
        "dalam tingkat yang lebih besar dengan Rusia.",
        text=SAMPLE_TEXT,
        section="Global",
        tags=("Armenia", "Azerbaijan", "Nagorno-Karabakh", "Rusia"),
    )
    match = Match(
        topic_id=topic.id,
        score=3.0,
        terms=("Armenia", "Pashinyan", "Azerbaijan", "Nagorno-Karabakh"),
        snippets=(
            "Perdana Menteri Armenia Nikol Pashinyan menyerukan adanya kooperasi militer",
            "setelah pasukan Azerbaijan sampai di sebagian wilayah Nagorno-Karabakh yang ditinggalkan separatis",
        ),
    )
    return Alert(
        id=f"test-{channel_id}-{now:%Y%m%dT%H%M%SZ}",
        topic=topic,
        article=article,
        match=match,
        channel_id=channel_id,
        also_reported_by=(),
        detected_at=now,
    )
