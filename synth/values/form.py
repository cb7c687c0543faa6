"""Generic key-value forms (the FUNSD kind): a title, question -> answer pairs, checkbox groups."""

from __future__ import annotations

import datetime as dt

from synth.values import V, ValueContext

TITLES = ("Employee Information Form", "Application for Membership", "Change of Address Request",
          "Patient Registration Form", "Vendor Registration Form", "Expense Claim Form",
          "Equipment Request Form", "Visitor Registration", "Account Opening Form",
          "Order Request Form", "Incident Report", "Leave Application")
# question -> how to draw its answer from the seeded Faker / RNG
QUESTIONS = {
    "Name": lambda f, r: f.name(),
    "Full name": lambda f, r: f.name(),
    "Date of birth": lambda f, r: f.date_of_birth(minimum_age=18, maximum_age=80).strftime("%m/%d/%Y"),
    "Address": lambda f, r: f.street_address(),
    "City": lambda f, r: f.city(),
    "Postal code": lambda f, r: f.postcode(),
    "Country": lambda f, r: f.current_country(),
    "Phone": lambda f, r: f.phone_number(),
    "Email": lambda f, r: f.email(),
    "Company": lambda f, r: f.company(),
    "Position": lambda f, r: f.job()[:40],
    "Department": lambda f, r: r.choice(("Sales", "Finance", "R&D", "HR", "Operations", "Legal", "IT")),
    "Employee ID": lambda f, r: f"E{r.randint(10000, 99999)}",
    "Start date": lambda f, r: f.date_between_dates(dt.date(2010, 1, 1), dt.date(2026, 12, 31)).strftime("%m/%d/%Y"),
    "Amount": lambda f, r: f"{r.randint(10, 9999)}.{r.randint(0, 99):02d}",
    "Account number": lambda f, r: f.bothify("########"),
    "Reference": lambda f, r: f.bothify("??-#####").upper(),
    "Signature date": lambda f, r: f.date_between_dates(dt.date(2016, 1, 1), dt.date(2026, 12, 31)).strftime("%m/%d/%Y"),
    "Reason": lambda f, r: f.sentence(nb_words=5).rstrip("."),
    "Comments": lambda f, r: f.sentence(nb_words=6).rstrip("."),
    "Emergency contact": lambda f, r: f.name(),
    "Quantity": lambda f, r: str(r.randint(1, 500)),
}
CHOICES = {
    "Marital status": ("Single", "Married", "Divorced", "Widowed"),
    "Preferred contact": ("Email", "Phone", "Mail"),
    "Request type": ("New", "Renewal", "Change"),
    "Membership type": ("Basic", "Standard", "Premium"),
    "Employment": ("Full-time", "Part-time", "Contractor"),
    "Payment method": ("Cash", "Check", "Transfer", "Card"),
    "Priority": ("Low", "Medium", "High"),
}


def make(ctx: ValueContext) -> dict:
    fake, rng = ctx.loc.fake, ctx.rng
    questions = rng.sample(sorted(QUESTIONS), rng.randint(5, 14))
    groups = rng.sample(sorted(CHOICES), rng.randint(0, 3))
    suffix = rng.choice((":", ":", "", " :"))
    # checkbox options are printed but are not truth: the renderer reads them from extras
    ctx.extras["options"] = [list(CHOICES[g]) for g in groups]
    return {
        "title": V.of(rng.choice(TITLES)),
        "form_number": V.of(fake.bothify(rng.choice(("Form ##-?", "F-####", "REF ###/##"))).upper()),
        "fields": [{"question": V.of(q + suffix), "answer": V.of(QUESTIONS[q](fake, rng))} for q in questions],
        "choices": [{"question": V.of(g + suffix), "answer": V.of(rng.choice(CHOICES[g]))} for g in groups],
    }
