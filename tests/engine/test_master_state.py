"""At login the engine reads the broker's master data per code and mutes restricted names
(거래정지, 정리매매, 관리종목, 투자위험/경고) for the day: recorded with the reason, alerted once,
shown in the summary, never traded."""
from __future__ import annotations

import json

from kxrules.broker.master import restrictions

from .scenario import Quotes, rows, run

UNIVERSE = [("005930", "삼성전자", "KOSPI", 100000), ("000660", "SK하이닉스", "KOSPI", 100000),
            ("068270", "셀트리온", "KOSPI", 100000)]


def test_restrictions_are_read_from_both_master_texts():
    assert restrictions("증거금20%|담보대출|신용가능", "정상") == ()
    assert restrictions("증거금100%|거래정지", "정상") == ("거래정지",)
    assert restrictions("증거금100%|관리종목", "투자경고") == ("관리종목", "투자경고")
    assert restrictions("정리매매", "투자위험") == ("정리매매", "투자위험")
    assert restrictions("", "투자주의") == ()          # 투자주의 alone is no restriction


def test_a_halted_and_a_warned_name_are_muted_with_reasons_and_never_traded(tmp_path):
    q = Quotes()
    for i, (code, *_) in enumerate(UNIVERSE):              # the same gap on each name in turn
        q.steady(code, 99_900, 100_000, end="09:10:08")
        q.hold(code, "NXT", f"09:10:0{2 * i}.000", f"09:10:0{2 * i}.300", 100_600, 100_700)
    master = {"000660": {"state": "증거금100%|거래정지"}, "068270": {"construction": "투자경고"}}
    result, con = run(tmp_path, q, universe=UNIVERSE, emulator={"master": master},
                      risk={"max_active_symbols": 3})
    assert rows(con, "SELECT DISTINCT code FROM orders") == [("005930",)]      # only the clean name traded
    muted = [(code, json.loads(detail)) for code, detail in
             rows(con, "SELECT code, detail FROM events WHERE kind = 'symbol_muted' ORDER BY code")]
    assert muted == [("000660", {"reason": "거래정지", "source": "broker master data"}),
                     ("068270", {"reason": "투자경고", "source": "broker master data"})]
    assert rows(con, "SELECT message FROM alerts WHERE kind = 'symbol_muted' ORDER BY message") == [
        ("000660 SK하이닉스: 거래정지 by the broker's master data; muted for the day",),
        ("068270 셀트리온: 투자경고 by the broker's master data; muted for the day",)]
    assert result.summary.muted == {"000660": "거래정지", "068270": "투자경고"}
    assert "Muted: 000660 (거래정지), 068270 (투자경고)." in result.summary.paragraph()
    (summary,), = rows(con, "SELECT summary_json FROM runs")
    assert json.loads(summary)["muted"] == {"000660": "거래정지", "068270": "투자경고"}
    assert result.exit_code == 0 and result.summary.flat
