"""Exam administration (考务): plans, registration and eligibility, rooms and seating, admission tickets,
staff with qualification and recusal, random supervisors, supervisor reports, the quarterly quality report.

``rules`` is pure; ``operations`` holds the audited services; ``api`` and ``pages`` are the HTTP shell.
"""
