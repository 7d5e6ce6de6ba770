"""Certificates in the app (证书发放、查询与撤销): API, pages, Celery tasks and demo data.

The models and operations are in :mod:`scoring.certification`; numbering, signing, the PDF and
the public view in :mod:`scoring.certificates`. This package adds the signing key file, the HTTP
surface (a rate-limited public verification by exact number, the holder's downloads, staff issue,
revoke and export) and the batch issuing tasks.
"""
