"""Small knowledge bases for the answer-or-refuse benchmark: a shop's FAQ, written for it.

Each entry is one passage (a title and a short text, as an owner pastes them) and visitor
questions that it answers, phrased the way visitors ask, mostly with other words than the
passage uses ("send it back" for returns, "cost" for price, "get in touch" for contact).
NEAR_MISSES are questions about the same shop that nothing here answers: features the FAQ
does not have, asked in the same vocabulary.

Questions are split in two halves: the first half of every list tunes the decision, the
second half reports it (`tuning`/`reporting` below); the code is tuned on the first only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entry:
    title: str
    text: str
    questions: tuple[str, ...]  # even positions tune, odd positions report


FAQ: list[Entry] = [
    Entry(
        "Shipping and returns",
        "Orders ship from our Rotterdam warehouse within 2 business days. "
        "Returns are accepted for 30 days.",
        (
            "Can I send it back?",
            "returns?",
            "how long do I have to return something",
            "what is your return policy?",
            "when will my order leave the warehouse?",
            "where do you ship from?",
        ),
    ),
    Entry(
        "Prices",
        "Our basic plan is 9 euros a month and the team plan is 29 euros a month. "
        "Prices include VAT.",
        (
            "how much does it cost?",
            "what's the price of the team plan?",
            "cost per month?",
            "is VAT included in the price?",
            "how expensive is the basic plan",
            "pricing",
        ),
    ),
    Entry(
        "Contact us",
        "You can reach our support team by email at help@larkspur.example or by phone on "
        "+31 20 555 0199, Monday to Friday from 9:00 to 17:00.",
        (
            "how do I get in touch?",
            "what is your phone number?",
            "can I talk to a person",
            "support email address",
            "when is customer service open?",
            "how can I contact you",
        ),
    ),
    Entry(
        "Opening hours of the shop",
        "Our shop in Utrecht is open Tuesday to Saturday from 10:00 to 18:00 and closed on "
        "Sundays and Mondays.",
        (
            "are you open on sunday?",
            "what time does the store close?",
            "when can I visit the shop",
            "opening times",
            "is the shop open on Monday",
            "hours of the Utrecht store",
        ),
    ),
    Entry(
        "Payment methods",
        "We accept Visa, Mastercard, iDEAL and bank transfer. Payment is taken when the "
        "order is placed.",
        (
            "can I pay by credit card?",
            "which payment options do you have",
            "do you take iDEAL",
            "when is my card charged?",
            "can I pay with a bank transfer",
            "payment",
        ),
    ),
    Entry(
        "Cancelling an order",
        "You can cancel an order free of charge until it has been shipped, from the Orders "
        "page of your account.",
        (
            "I want to cancel my purchase",
            "how do I call off an order I just made",
            "cancel order",
            "can I still stop my order?",
            "is there a fee to cancel",
            "I changed my mind about my order",
        ),
    ),
    Entry(
        "Delivery times",
        "Delivery in the Netherlands takes 1 to 2 days after shipping; elsewhere in the EU "
        "it takes 3 to 5 days.",
        (
            "how long until my package arrives?",
            "delivery time to Germany",
            "when will I receive my parcel",
            "how fast is delivery in the Netherlands",
            "how many days does it take to get here",
            "shipping time",
        ),
    ),
    Entry(
        "Shipping costs",
        "Shipping is free on orders over 50 euros. Below that, delivery costs 4.95 euros in "
        "the Netherlands and 9.95 euros elsewhere in the EU.",
        (
            "do you charge for postage?",
            "is delivery free?",
            "how much is shipping",
            "minimum order for free delivery",
            "what does it cost to send to Belgium",
            "shipping fee",
        ),
    ),
    Entry(
        "Warranty",
        "All furniture comes with a two-year warranty against manufacturing defects. "
        "Send us a photo of the defect and your order number to make a claim.",
        (
            "my chair broke, is it covered?",
            "guarantee",
            "how long is the warranty",
            "what do I do if a product is faulty",
            "how do I claim a defect",
            "is there a guarantee on the sofa?",
        ),
    ),
    Entry(
        "Resetting your password",
        "To reset your password, click 'Forgot password' on the sign-in page; we email you "
        "a link that is valid for one hour.",
        (
            "I forgot my password",
            "can't log in",
            "how do I change my login password",
            "password reset link expired",
            "locked out of my account",
            "reset password",
        ),
    ),
    Entry(
        "Deleting your account",
        "You can delete your account under Settings > Privacy. Your order history is kept "
        "for seven years because tax law requires it.",
        (
            "how do I remove my account?",
            "close my account",
            "delete my data",
            "can I erase my profile",
            "how long do you keep my orders",
            "account deletion",
        ),
    ),
    Entry(
        "Gift cards",
        "Gift cards are sold in amounts from 10 to 200 euros, are delivered by email and "
        "can be used for two years.",
        (
            "do you sell gift vouchers?",
            "gift card",
            "how long is a gift card valid",
            "can I give someone a voucher",
            "what amounts do gift cards come in",
            "does a gift card expire?",
        ),
    ),
    Entry(
        "Assembly",
        "Most furniture arrives flat-packed with tools and instructions; assembly takes "
        "about 30 minutes. We do not offer an assembly service.",
        (
            "do I have to put it together myself?",
            "is the table delivered assembled",
            "how long does it take to build",
            "can someone assemble it for me",
            "are tools included",
            "assembly instructions",
        ),
    ),
    Entry(
        "Samples of fabric",
        "You can order up to five fabric samples for free; they arrive within a week.",
        (
            "can I see the fabric before buying?",
            "swatches",
            "do you send material samples",
            "how many samples can I order",
            "are fabric samples free",
            "I want to feel the cloth first",
        ),
    ),
    Entry(
        "Tracking your parcel",
        "When your order ships we email you a tracking link from PostNL or DHL.",
        (
            "where is my package?",
            "how do I track my order",
            "track and trace",
            "which courier delivers my parcel",
            "I did not get a tracking number",
            "follow my delivery",
        ),
    ),
    Entry(
        "Damaged on arrival",
        "If an item arrives damaged, send us photos within 48 hours and we will send a "
        "replacement or refund you.",
        (
            "my table arrived broken",
            "the box was damaged",
            "what if something is damaged in transit",
            "item came scratched",
            "do I get a refund for a broken delivery",
            "damaged item",
        ),
    ),
    Entry(
        "Student discount",
        "Students get 10 percent off with a valid student card; enter the code STUDENT10 "
        "at checkout.",
        (
            "do you have discounts for students?",
            "STUDENT10",
            "is there a student deal",
            "how do I get 10% off",
            "promo code for students",
            "cheaper for university students?",
        ),
    ),
    Entry(
        "Care instructions",
        "Clean wooden surfaces with a dry cloth; avoid water and household cleaners. "
        "Oil the wood once a year.",
        (
            "how do I clean the oak table?",
            "can I use water on the wood",
            "maintenance of wooden furniture",
            "how should I look after my table",
            "how often should I oil it",
            "care",
        ),
    ),
    Entry(
        "Exchanging a product",
        "To exchange an item for another size or colour, return it and place a new order; "
        "we refund the first one when it reaches us.",
        (
            "can I swap it for a different colour?",
            "exchange",
            "wrong size, can I change it",
            "how do exchanges work",
            "I want another colour instead",
            "trade in for a bigger one",
        ),
    ),
    Entry(
        "Invoices",
        "Invoices are in the Orders page of your account as PDF files; business customers "
        "can add a VAT number at checkout.",
        (
            "where can I find my invoice?",
            "I need a receipt",
            "download a bill for my order",
            "can I add my company VAT number",
            "invoice for my business",
            "receipt pdf",
        ),
    ),
]

# The same shop, features its FAQ does not describe.
NEAR_MISSES: tuple[str, ...] = (
    "do you ship to the United States?",
    "do you offer gift wrapping?",
    "can I pay in instalments with Klarna?",
    "is there a loyalty points programme?",
    "do you have a shop in Amsterdam?",
    "can I pick up my order at the warehouse?",
    "do you sell mattresses?",
    "is there a discount for pensioners?",
    "can I order by phone?",
    "do you have an app for iPhone?",
    "are your products vegan?",
    "do you buy back used furniture?",
    "can I reserve an item in the shop?",
    "do you offer interior design advice?",
    "is there a newsletter I can sign up for?",
    "do you deliver on Sundays?",
    "can I pay with Bitcoin?",
    "do you recycle packaging?",
    "are you hiring?",
    "do you make furniture to measure?",
)


def tuning(items: tuple[str, ...]) -> list[str]:
    return list(items[0::2])


def reporting(items: tuple[str, ...]) -> list[str]:
    return list(items[1::2])
