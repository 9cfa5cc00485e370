#!/usr/bin/env python3
"""hashlists.py - writes the publishers' hash-list files of
tests/cli/hashlists.sh from the format descriptions in docs/HASHLISTS.md
(benign hashes: PDQ hashes of the project's own test images, random
digests and PhotoDNA bytes), with the entries phmatch must store for each,
and checks an export against them. An independent reference: it knows the
formats, not phmatch's code.

  hashlists.py gen DIR PDQFILE       the files, and DIR/expect.json
  hashlists.py check EXPECT.json FORMAT EXPORT.jsonl
                                     "ok", or the differences (exit 1)
  hashlists.py big vics|ncmec FILE MB   a large file, streamed out
"""
import base64
import json
import random
import sys

rnd = random.Random(14)


def hexbytes(n):
    return bytes(rnd.getrandbits(8) for _ in range(n)).hex()


def pdna_b64():
    return base64.b64encode(bytes(rnd.getrandbits(8) for _ in range(144))).decode()


def entry(id, category="", hash=None, md5=None, sha1=None, photodna=None, attrs=None,
          added=None):
    return {"id": id, "category": category, "hash": hash, "md5": md5, "sha1": sha1,
            "photodna": photodna, "attrs": attrs, "added": added}


def gen(d, pdqfile):
    H = [l.split(",")[0].strip() for l in open(pdqfile) if l.strip()]
    exp = {}

    # Project VIC VICS 1.x hash set
    m = [hexbytes(16) for _ in range(3)]
    s = [hexbytes(20) for _ in range(3)]
    p64, phex = pdna_b64(), hexbytes(144)
    media = [
        {"odata.id": "Media(101)", "MediaID": 101, "Category": 1, "MD5": m[0].upper(),
         "SHA1": s[0].upper(), "PhotoDNA": p64, "Series": "Series A",
         "VictimIdentified": "true", "OffenderIdentified": False, "IsDistributed": "False",
         "MediaSize": 12345, "DateUpdated": "2020-01-02T03:04:05Z", "IsPrecategorized": True,
         "Tags": ["t1", "t2"],
         "AlternativeHashes": [{"HashName": "PDQ", "HashValue": H[0]}]},
        {"MediaID": "m-102", "Category": 3, "MD5": m[1],
         "AlternativeHashes": [{"HashName": "PhotoDNA", "HashValue": phex},
                               {"HashName": "PDQ", "HashValue": H[1].upper()}]},
        {"MediaID": 103, "Category": 0, "SHA1": s[2]},
    ]
    json.dump({"odata.metadata": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/1.3.xml#Media",
               "value": media}, open(f"{d}/vics1.json", "w"), indent=1)
    exp["vics1"] = [
        entry("101", "1", H[0], m[0], s[0], p64,
              {"Series": "Series A", "VictimIdentified": True, "OffenderIdentified": False,
               "IsDistributed": False, "MediaSize": 12345, "DateUpdated": "2020-01-02T03:04:05Z",
               "IsPrecategorized": True, "Tags": ["t1", "t2"]}),
        entry("m-102", "3", H[1], m[1], photodna=phex),
        entry("103", "0", sha1=s[2]),
    ]

    # VICS 2.0 case file: Media nested in each case, minified on one line
    m2 = [hexbytes(16) for _ in range(3)]
    cases = [{"CaseID": 1, "CaseNumber": "C-1", "Media": [
                 {"MediaID": 201, "Category": 2, "MD5": m2[0], "IsDistributed": "true",
                  "AlternativeHashes": [{"HashName": "PDQ", "HashValue": H[2]}]},
                 {"MediaID": 202, "Category": 1, "MD5": m2[1]}]},
             {"CaseID": 2, "Media": [{"MediaID": 203, "Category": 4, "MD5": m2[2]}]}]
    open(f"{d}/vics2.json", "w").write(json.dumps(
        {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases",
         "value": cases}, separators=(",", ":")))
    exp["vics2"] = [entry("201", "2", H[2], m2[0], attrs={"IsDistributed": True}),
                    entry("202", "1", md5=m2[1]), entry("203", "4", md5=m2[2])]

    # NCMEC XML
    n5, n1 = [hexbytes(16) for _ in range(3)], [hexbytes(20) for _ in range(3)]
    nd = pdna_b64()
    open(f"{d}/ncmec.xml", "w").write(f"""<?xml version="1.0" encoding="UTF-8"?>
<queryResult xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <images count="3" maxTimestamp="2019-10-07T19:42:27.413Z">
    <image>
      <member id="42">Example ESP</member>
      <id>9001</id>
      <timestamp>2019-10-07T19:42:27.413Z</timestamp>
      <classification>A1</classification>
      <fingerprints>
        <md5>{n5[0]}</md5><sha1>{n1[0]}</sha1><pdna>{nd}</pdna><pdq>{H[3]}</pdq>
      </fingerprints>
    </image>
    <image><member id="7">Other</member><id>9002</id><timestamp>2020-01-01T00:00:00Z</timestamp>
      <classification>B1</classification><fingerprints><md5>{n5[1]}</md5></fingerprints></image>
    <image><id>9003</id><classification><![CDATA[A2]]></classification>
      <fingerprints><pdq>{H[4]}</pdq></fingerprints></image>
  </images>
</queryResult>
""")
    exp["ncmec"] = [
        entry("9001", "A1", H[3], n5[0], n1[0], nd, {"member_id": "42", "member": "Example ESP"},
              "2019-10-07T19:42:27Z"),
        entry("9002", "B1", md5=n5[1], attrs={"member_id": "7", "member": "Other"},
              added="2020-01-01T00:00:00Z"),
        entry("9003", "A2", H[4]),
    ]
    open(f"{d}/ncmec-update.xml", "w").write(f"""<?xml version="1.0"?>
<queryResult><images count="2">
<deletedImage><member id="42"/><id>9001</id><timestamp>2021-01-01T00:00:00Z</timestamp></deletedImage>
<image><id>9004</id><classification>A1</classification><fingerprints><sha1>{n1[2]}</sha1></fingerprints></image>
</images></queryResult>
""")
    exp["ncmec-update"] = [e for e in exp["ncmec"] if e["id"] != "9001"] + [
        entry("9004", "A1", sha1=n1[2])]

    # StopNCII
    v5 = hexbytes(16)
    json.dump({"count": 2, "hashRecords": [
        {"hashValue": H[5].upper(), "signalType": "ImagePDQ", "hashStatus": "Active",
         "lastModtimestamp": 1700000000, "caseNumbers": ["c-1", "c-2"]},
        {"hashValue": v5, "signalType": "VideoMD5", "hashStatus": "Active",
         "lastModtimestamp": "2023-11-14T22:13:21Z", "caseNumbers": []}],
        "nextPageToken": None}, open(f"{d}/stopncii.json", "w"))
    exp["stopncii"] = [
        entry(H[5], "", H[5], attrs={"caseNumbers": ["c-1", "c-2"], "hashStatus": "Active",
                                     "signalType": "ImagePDQ"}, added="2023-11-14T22:13:20Z"),
        entry(v5, "", md5=v5, attrs={"caseNumbers": [], "hashStatus": "Active",
                                     "signalType": "VideoMD5"}, added="2023-11-14T22:13:21Z"),
    ]
    json.dump({"hashRecords": [{"hashValue": H[5], "signalType": "ImagePDQ",
                                "hashStatus": "Withdrawn", "lastModtimestamp": 1700000100}]},
              open(f"{d}/stopncii-update.json", "w"))
    exp["stopncii-update"] = exp["stopncii"][1:]

    # ThreatExchange descriptors (Graph API JSON) and the CSV download
    t5, t1 = hexbytes(16), hexbytes(20)
    json.dump({"data": [
        {"id": "3001", "raw_indicator": H[6], "type": "HASH_PDQ", "status": "MALICIOUS",
         "added_on": "2020-07-01T18:21:53+0000", "owner": {"id": "1", "name": "x"},
         "tags": {"data": [{"id": "1", "text": "media_type_photo"}, {"text": "pwny"}]}},
        {"id": "3002", "raw_indicator": t5, "type": "HASH_MD5", "status": "NON_MALICIOUS",
         "added_on": "2021-02-03T04:05:06+01:00"}],
        "paging": {"cursors": {"before": "a", "after": "b"}}}, open(f"{d}/te.json", "w"))
    exp["te"] = [
        entry("3001", "MALICIOUS", H[6], attrs={"tags": ["media_type_photo", "pwny"]},
              added="2020-07-01T18:21:53Z"),
        entry("3002", "NON_MALICIOUS", md5=t5, added="2021-02-03T03:05:06Z"),
    ]
    json.dump({"data": [{"id": "3001", "should_delete": True}]},
              open(f"{d}/te-update.json", "w"))
    exp["te-update"] = exp["te"][1:]
    open(f"{d}/te.csv", "w").write(
        "td_raw_indicator,td_indicator_type,td_id,td_status,td_tags,td_added_on,td_confidence\n"
        f"{H[7]},HASH_PDQ,4001,MALICIOUS,media_type_photo pwny,2022-03-04T05:06:07+0000,100\n"
        f"{t1},HASH_SHA1,4002,UNKNOWN,,1650000000,50\n")
    exp["te-csv"] = [
        entry("4001", "MALICIOUS", H[7], attrs={"tags": "media_type_photo pwny"},
              added="2022-03-04T05:06:07Z"),
        entry("4002", "UNKNOWN", sha1=t1, added="2022-04-15T05:20:00Z"),
    ]

    # Tech Against Terrorism
    a5 = hexbytes(16)
    json.dump({"count": 2, "next": None, "previous": None, "results": [
        {"id": 17, "hash_digest": H[8], "algorithm": "PDQ", "deleted": False,
         "updated_on": "2023-01-01T00:00:00.123456Z", "group": "x"},
        {"id": 18, "hash_digest": a5.upper(), "algorithm": "MD5", "deleted": False,
         "updated_on": "2023-01-02T00:00:00Z"}]}, open(f"{d}/tat.json", "w"))
    exp["tat"] = [entry("17", "", H[8], added="2023-01-01T00:00:00Z"),
                  entry("18", "", md5=a5, added="2023-01-02T00:00:00Z")]
    json.dump({"count": 1, "results": [{"id": 17, "deleted": True}]},
              open(f"{d}/tat-update.json", "w"))
    exp["tat-update"] = exp["tat"][1:]

    # Interpol ICSE CSV
    i5, i1, ip = [hexbytes(16) for _ in range(2)], [hexbytes(20) for _ in range(2)], pdna_b64()
    open(f"{d}/icse.csv", "w").write(
        "MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;"
        "Series name;Notes\r\n"
        f"{i5[0].upper()};{i1[0]};{ip};IMG-1;Yes;No;0;Series; with semicolon;x\r\n"
        .replace("Series; with semicolon", '"Series; with semicolon"') +
        f"{i5[1]};;;IMG-2;;;;;\r\n")
    exp["icse"] = [
        entry("IMG-1", "", md5=i5[0], sha1=i1[0], photodna=ip,
              attrs={"IsDistributed": True, "VictimIdentified": False,
                     "OffenderIdentified": False, "Series": "Series; with semicolon"}),
        entry("IMG-2", "", md5=i5[1]),
    ]

    # HMA's local file: pdq, video_md5, md5
    h5, h6 = hexbytes(16), hexbytes(16)
    open(f"{d}/hma.txt", "w").write(f"pdq {H[9]}\nvideo_md5 {h5}\nmd5 {h6.upper()}\n")
    exp["hma"] = [entry("1", "", H[9]), entry("2", "", md5=h5), entry("3", "", md5=h6)]

    json.dump(exp, open(f"{d}/expect.json", "w"), indent=1)


def check(expfile, name, export):
    want = {e["id"]: e for e in json.load(open(expfile))[name]}
    got = {}
    for line in open(export):
        o = json.loads(line)
        got[o["id"]] = o
    bad = []
    if sorted(want) != sorted(got):
        bad.append(f"ids: got {sorted(got)}, want {sorted(want)}")
    for id, w in want.items():
        g = got.get(id)
        if not g:
            continue
        for k in ("category", "hash", "md5", "sha1", "photodna", "attrs", "added"):
            gv = g.get(k)
            wv = w[k]
            if k == "added" and wv is None:
                continue
            if k in ("hash", "md5", "sha1") and wv is not None:
                wv = wv.lower()
            if gv != wv:
                bad.append(f"{id}: {k}: got {gv!r}, want {wv!r}")
    print("ok" if not bad else "\n".join(bad))
    return 0 if not bad else 1


def big(fmt, path, mb):
    H = "%064x" % (int("aa" * 32, 16))  # 128 bits set
    out = open(path, "w")
    total, i = 0, 0
    limit = mb << 20
    if fmt == "vics":
        out.write('{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media","value":[\n')
        while total < limit:
            r = json.dumps({"MediaID": i, "Category": i % 5, "MD5": "%032x" % (i + 1),
                            "SHA1": "%040x" % (i + 7), "Series": "s%d" % (i % 100),
                            "VictimIdentified": False, "Tags": ["a", "b"],
                            "AlternativeHashes": [{"HashName": "PDQ", "HashValue": H}]})
            out.write(("," if i else "") + r + "\n")
            total += len(r) + 2
            i += 1
        out.write("]}\n")
    else:
        out.write('<?xml version="1.0"?>\n<queryResult><images>\n')
        while total < limit:
            r = (f'<image><member id="1">m</member><id>{i}</id><timestamp>2020-01-01T00:00:00Z'
                 f'</timestamp><classification>A1</classification><fingerprints><md5>'
                 f'{"%032x" % (i + 1)}</md5><pdq>{H}</pdq></fingerprints></image>\n')
            out.write(r)
            total += len(r)
            i += 1
        out.write("</images></queryResult>\n")
    out.close()
    print(i)


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        big(sys.argv[2], sys.argv[3], int(sys.argv[4]))
