"""Skolverket export parsers on small hand-written files with the publisher's traps."""
import pandas as pd
import pytest

from conftest import write
from forecast.errors import DataError
from forecast.sources import skolverket

HEAD = ("Skola;Skol-enhetskod;Skolkommun;Kommun-kod;Typ av huvudman;Huvudman;Huvudman orgnr;"
        "Elever, förskoleklass;Andel (%) flickor, förskoleklass;Elever, årskurs 1-9;Andel (%) flickor, årskurs 1-9;"
        "Andel (%) elever med utländsk bakgrund, åk 1-9;Andel (%) elever med föräldrar med eftergymnasial utb., åk 1-9;"
        + ";".join(f"Elever, årskurs {g}" for g in range(1, 10)) + ";")
UNIT_FILE = ("\ufeffStatistik från Skolverket, https://www.skolverket.se\n\nGrundskola - Antal elever per årskurs\n"
             "Valt läsår: 2023/24\n\n" + HEAD + "\n"
             "Alfa skola;12345678;Stockholm;0180;Kommunal;Stockholms kommun;2120000000;.;.;300;47,5;4,6;70,1;"
             "30;31;32;33;34;35;..;36;37;\n"
             "Beta skola;87654321;Nacka;0182;Enskild;Beta AB;5560000000;.;.;80;50;..;..;.;.;.;.;.;.;1 020;.;40;\n"
             "Gamma skola;11112222;Ale;1440;Kommunal;Ale kommun;2120001439;.;.;50;50;1;1;5;5;5;5;5;5;5;5;5;\n"
             "\nRapportbeskrivning och definitioner etc.\nRapporten visar antal elever;\n")


def test_unit_file_parsed_with_all_traps(tmp_path):
    p = write(tmp_path / "Grundskolan - Antal elever per årskurs 2023 Skolenhet.csv", UNIT_FILE)
    df = skolverket.read_pupils_units(p, {"0180", "0182", "1440"}, {"0180", "0182"})
    assert set(df.kommun_kod) == {"0180", "0182"}            # Ale is outside the region
    assert (df.school_year == 2023).all()                      # from 'Valt läsår: 2023/24'
    a = df[df.skolenhetskod == "12345678"].set_index("grade")
    assert a.loc[9, "pupils"] == 37 and a.loc[1, "pupils"] == 30
    assert pd.isna(a.loc[7, "pupils"]) and a.loc[7, "suppressed"]   # '..' = suppressed
    b = df[df.skolenhetskod == "87654321"].set_index("grade")
    assert list(b.index) == [7, 9]                             # '.' = no pupils: no row
    assert b.loc[7, "pupils"] == 1020                          # space as thousands separator
    assert set(df.owner_type) == {"kommunal", "enskild"}


def test_unit_file_wrong_separator_named(tmp_path):
    p = write(tmp_path / "x 2023 Skolenhet.csv", UNIT_FILE.replace(";", ","))
    with pytest.raises(DataError, match="separator") as e:
        skolverket.read_pupils_units(p, {"0180"}, {"0180"})
    assert e.value.file.endswith("x 2023 Skolenhet.csv")


def test_unit_file_wrong_encoding_named(tmp_path):
    p = write(tmp_path / "y 2023 Skolenhet.csv", UNIT_FILE.replace("\ufeff", ""), encoding="latin-1")
    with pytest.raises(DataError, match="not UTF-8"):
        skolverket.read_pupils_units(p, {"0180"}, {"0180"})


def test_unit_file_renamed_column_named(tmp_path):
    p = write(tmp_path / "z 2023 Skolenhet.csv", UNIT_FILE.replace("Elever, årskurs 9;", "Elever åk 9;"))
    with pytest.raises(DataError) as e:
        skolverket.read_pupils_units(p, {"0180"}, {"0180"})
    assert e.value.column == "Elever, årskurs 9"


def test_unit_file_unknown_municipality(tmp_path):
    p = write(tmp_path / "u 2023 Skolenhet.csv", UNIT_FILE.replace(";0182;", ";0999;"))
    with pytest.raises(DataError, match="unknown municipality code") as e:
        skolverket.read_pupils_units(p, {"0180", "0182", "1440"}, {"0180"})
    assert e.value.column == "Kommun-kod" and "0999" in str(e.value)


COST_FILE = ("\ufeffStatistik från Skolverket, https://www.skolverket.se\n\nGymnasieskola - Kostnader per kommun\n"
             "Valt år: 2023\nEndast kommunal huvudman\n\n"
             "Kommun;Kommun-kod;Län;Läns-kod;Typ av huvudman;Genomsnittligt elevantal;Totalt;Undervisning;"
             "Totalt per elev;Undervisning per elev;Lokaler per elev;Måltider per elev;Lärverktyg per elev;"
             "Elevhälsa per elev;Övrigt per elev;\n"
             "Nacka;0182;Stockholms län;01;Kommunal;2 877;400000;200 000;139 000;70 000;25 500;5 000;6 000;4 000;28 500;\n"
             "Kalmarsunds Gymnasieförbund;3080;;;Kommunal;3 325;357273;166 532;107 500;50 100;19 100;7 400;13 100;5 440;12 200;\n")


def test_cost_file_skips_associations_and_reads_numbers(tmp_path):
    p = write(tmp_path / "Gymnasieskola - Kostnader per kommun 2023 Kommun.csv", COST_FILE)
    df = skolverket.read_costs(p, {"0182"}, {"0182"})
    assert len(df) == 1
    r = df.iloc[0]
    assert (r.year, r.kommun_kod, r.average_pupils) == (2023, "0182", 2877)
    assert r.cost_per_pupil_sek == 139000 and r.premises_per_pupil_sek == 25500


def test_cost_file_negative_value_rejected(tmp_path):
    p = write(tmp_path / "c 2023 Kommun.csv", COST_FILE.replace(";25 500;", ";-25 500;"))
    with pytest.raises(DataError, match="negative") as e:
        skolverket.read_costs(p, {"0182"}, {"0182"})
    assert e.value.column == "Lokaler per elev"


def test_leavers_workbook_header_on_row_9(tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "Nationella program"
    ws2 = wb.create_sheet("Ekonomiprogrammet")
    header = ["Skola", "Skol-enhetskod", "Skolkommun", "Kommun-kod", "Typ av huvudman", "Huvudman",
              "Huvudman orgnr", "Totalt antal"]
    for sheet, n in ((ws, "64"), (ws2, "..")):
        sheet["A3"] = "Gymnasieskola - Avgångselever, nationella program (fr.o.m. 2013/14)"
        sheet["A5"] = "Valt läsår: 2023/24"
        sheet.append([]); sheet.append([]); sheet.append([]); sheet.append([])
        for i, h in enumerate(header, start=1):
            sheet.cell(row=9, column=i, value=h)
        sheet.append(["Alfa gy", "12345678", "Stockholm", "0180", "Enskild", "Alfa AB", "1", n])
    p = tmp_path / "Gymnasieskola - Avgångselever, nationella program (fr.o.m. 2013_14) 2024 Skolenhet.xlsx"
    wb.save(p)
    df = skolverket.read_leavers(p, {"0180"}, {"0180"}).set_index("programme")
    assert (df.school_year == 2023).all()                     # file year 2024 = läsår 2023/24
    assert df.loc["ALLA", "leavers"] == 64
    assert pd.isna(df.loc["EK", "leavers"]) and df.loc["EK", "suppressed"]


def test_unreadable_xlsx_named(tmp_path):
    p = write(tmp_path / "broken 2024 Skolenhet.xlsx", "this is not a zip file")
    with pytest.raises(DataError, match="cannot read this xlsx") as e:
        skolverket.read_leavers(p, {"0180"}, {"0180"})
    assert e.value.file.endswith("broken 2024 Skolenhet.xlsx")
