"""The safety detector: does the customer say their money, their account or their person is at risk?
(seed 004: P1 涉及客户资金安全, answered in 15 minutes — a P1 read as P3 waits 8 hours; seed 000: 紧急 =
财产损失、安全风险). Pure matching, no I/O; built in, not part of the editable rule set, so no rule edit
can switch it off, and the decision policy (:func:`classifier.domain.decide`) never lets a rule or the
model lower what it finds.

It reads meaning from combinations rather than single keywords: a money movement (charge, payment,
transfer, top-up, withdrawal, refund, 扣款, 转账, 充值 …) NEAR a sign that something is wrong with it (the
customer did not make it or does not recognise it, it happened twice, it left and never arrived, it
vanished), or a card / wallet / phone that is lost or stolen, or someone else in the account. "How much is
the fee to transfer to the UK?" has a money word and no anomaly: not funds safety (a pre-sales question,
P3). A hypothetical ("what happens if my card is stolen?", 如果卡丢了怎么办) is not an incident either.

Kinds (each explained by the words it matched):

* ``unrecognised`` — a charge, payment, withdrawal or transfer the customer did not make, approve or
  recognise (said plainly, indirectly or as a question: "what is this 12.99 payment, I never bought
  anything", 我没买东西怎么扣了我钱);
* ``duplicate`` — the same money taken twice (charged twice, 扣了两次, two identical debits);
* ``missing`` — money that left the customer, or is owed to them, and has not arrived (a transfer the
  recipient never got, a top-up debited but not credited, a refund marked as sent that is not in the
  account, 钱扣了订单没有);
* ``vanished`` — balance gone, lower for no reason, or funds frozen;
* ``card_lost`` — card, wallet or phone lost or stolen, a card kept by an ATM, someone using the card;
* ``takeover`` — someone else got into the account (login from an unknown device, password changed by
  someone else, hacked, 盗号, a login code given to a caller);
* ``danger`` — a device endangering people (smoke, fire, sparks, a swelling battery, an electric shock).

Text is matched after :func:`classifier.domain.normalize` (NFKC, casefolded). The patterns were written
from the manuals' definitions and the failure classes of issue 16; thresholds of closeness (``WINDOW``)
were checked on the project's independent development set only (``python -m classifier.evaluate``), never
on its test set.
"""

from __future__ import annotations

import re
import re._constants as _op  # the standard library's regular-expression parser (private, stable since 3.11):
import re._parser as _parse  # read only to find the literal words every match starts with
from dataclasses import dataclass

import ahocorasick

WINDOW = 60
"""How close (in characters, either order) the money word and its anomaly must be: the same clause or the
next one. Chinese is dense (60 characters is two or three sentences), English about a sentence."""


def _alt(*terms: str) -> str:
    return "(?:" + "|".join(terms) + ")"


# ------------------------------------------------------------------ vocabulary (normalised, casefolded)
_MONEY_EN = _alt(
    r"charg(?:e|es|ed|ing)", r"payments?", r"paid", r"pay\b", r"transactions?", r"debit(?:s|ed)?", r"direct debits?",
    r"withdraw(?:al|als|n|ing)?", r"transfer(?:s|red)?", r"deduct(?:ed|ion|ions)?", r"top[- ]?ups?", r"topped up",
    r"purchases?", r"money", r"funds", r"cash", r"refund(?:s|ed)?", r"deposits?", r"balance", r"amount",
    r"[$£€¥]\s?\d", r"\b\d+(?:[.,]\d+)?\s?(?:usd|eur|gbp|rmb|cny|hkd|dollars?|euros?|pounds?|yuan|quid|bucks)\b",
    r"(?:taken|took|gone|went) (?:out of|from) my (?:account|card)", r"statement",
)
_MONEY_ZH = _alt(
    "扣款", "扣费", "扣钱", "扣了", "被扣", "扣走", "扣除", "划扣", "划走", "转走", "取走", "刷走", "刷了", "盗刷",
    "消费", "支付", "付款", "付了", "交易", "转账", "转出", "划走", "扣", "转的钱", "汇款", "汇的钱", "打款", "充值", "充的钱", "提现", "取款",
    "退款", "退的钱", "钱", "款项", "余额", "资金", "金额", "一笔", "两笔", "账单", r"¥\s?\d", r"\d+\s?(?:元|块)",
)
_UNRECOGNISED = _alt(
    # English: not me / not recognised / not authorised / without consent
    r"did ?n[o']?t (?:make|do|authori[sz]e|approve|recogni[sz]e|buy|order|purchase|spend|sign up|agree)",
    r"do ?n[o']?t (?:recogni[sz]e|know (?:what|where|anything about))", r"never (?:made|authori[sz]ed|approved|"
    r"bought|ordered|purchased|spent|signed up|agreed|been to|used|heard of)", r"unrecogni[sz]ed", r"not recogni[sz]ed",
    r"unauthori[sz]ed", r"not authori[sz]ed", r"wasn'?t me", r"was not me", r"not (?:made|done) by me", r"not mine",
    r"isn'?t mine", r"without my (?:permission|consent|approval|knowledge|authori[sz]ation)",
    r"(?:unknown|strange|weird|odd|random|mystery|suspicious|unfamiliar|fraudulent) (?:\S+ ){0,2}"
    r"(?:charges?|payments?|transactions?|debits?|withdrawals?|transfers?|purchases?|deductions?|merchant|amount)",
    r"fraud", r"scam(?:med)?", r"someone (?:else )?(?:has )?(?:used|is using|made|took|charged|spent|withdrew|"
    r"bought|transferred)", r"no idea (?:what|where|why|who)", r"what(?: is| was|'s) (?:this|that) (?:\S+ ){0,2}"
    r"(?:charge|payment|transaction|debit|withdrawal|deduction)", r"i (?:have|had)n'?t (?:bought|ordered|"
    r"purchased|made|authori[sz]ed)", r"haven'?t (?:bought|ordered|purchased) anything", r"never been (?:to|in)",
    r"(?:who|what) (?:is|are) this merchant", r"do ?n[o']?t know (?:who|what|where|anything)",
    r"(?:after|since|though|although) (?:i |we )?(?:had |have )?cancel", r"(?:i |we )(?:had |have )?cancel(?:l?ed)? "
    r"(?:\S+ ){0,12}(?:but|and|still|yet)", r"(?:order|subscription|membership|plan|trial) (?:i |we )(?:had )?cancel",
    r"never (?:been|travell?ed|left)",
    "取消了?(?:\\S{0,12})(?:还在|还|又|继续|照样|照常)(?=\\S{0,4}扣)", "偷偷扣", "从来没", "没出过国", "没去过", "不知道是谁", "多扣",
    # Chinese
    "不是我", "不是本人", "非本人", "我没买", "我没有买", "没买东西", "没买过", "没有买过", "没消费", "没有消费", "没操作",
    "没有操作", "未操作", "没授权", "未授权", "未经", "没经过我", "没同意", "没有同意", "不认识", "不认得", "不明",
    "莫名", "陌生", "不知道(?:哪|怎么|为什么|是什么)", "奇怪的", "可疑", "诈骗", "被骗", "盗刷", "被刷",
    "我都没", "我根本没", "谁(?:扣|刷|转|取)",
)
_TWICE = _alt(
    r"twice", r"two times", r"double[- ]?(?:charged|charge|billed|debited|payment|deduction)",
    r"charged double", r"duplicated?", r"two (?:identical |same |separate )?(?:charges|payments|transactions|debits|"
    r"deductions|withdrawals)", r"(?:charged|debited|deducted|billed|paid|taken|took) (?:\S+ ){0,6}(?:again|two times|twice)",
    r"(?:for|of) the same (?:order|instalment|installment|purchase|item|bill|payment|transaction|subscription)",
    r"same (?:charge|payment|amount|transaction) (?:\w+ ){0,2}(?:again|twice)",
    "(?:扣|付|收|刷|支付|扣款|扣费|交|缴)了?两(?:次|遍|笔)", "两次扣", "重复(?:扣|支付|付款|收费|扣款|交易)", "多扣", "两笔一样", "两笔相同", "一样的两笔", "扣双份", "扣了双倍", "又扣了",
)
_NOT_ARRIVED = _alt(
    r"(?:has|have|had|did|does|is|was)n'?t (?:arrived|come|reached|landed|shown|appeared|gone through|been (?:credited|"
    r"received|added|reflected|returned))", r"(?:has|have|did|does) not (?:arrived|arrive|come|reached|reach|"
    r"landed|shown|show|appeared|appear|gone through|been credited)", r"never (?:arrived|came|reached|received|"
    r"got|showed|appeared|credited|went through)", r"not (?:arrived|received|credited|reflected|showing|shown|"
    r"there|in my (?:account|balance|card|wallet|bank))", r"(?:still|yet to) (?:not )?(?:pending|missing|waiting|"
    r"not (?:there|arrived|received|showing))", r"(?:haven'?t|hasn'?t|didn'?t|did not|have not|has not) "
    r"(?:received|got|gotten|seen)", r"doesn'?t show", r"isn'?t showing", r"not show(?:ing)? up", r"missing",
    r"disappeared", r"vanished", r"gone missing", r"went missing", r"(?:is|are|was) gone", r"stuck",
    r"not (?:been )?updated", r"didn'?t (?:update|go up|increase|change)", r"still (?:shows?|says?) (?:the )?(?:old|same|0)",
    r"lost in", r"nowhere to be (?:found|seen)", r"where is my (?:money|refund|transfer|top[- ]?up|cash)",
    "没到账", "未到账", "不到账", "还没到", "没有到", "没收到", "没有收到", "未收到", "收不到", "没到", "不见了",
    "没了", "消失", "失踪", "丢了", "没显示", "没有显示", "不显示", "没更新", "没有更新", "没变", "没有变", "没加上",
    "没有增加", "没增加", "一直(?:在)?处理中", "一直(?:在)?审核", "卡住", "石沉大海", "钱呢", "钱去哪", "去哪了", "查不到",
    "没入账", "未入账", "对方没收到", "对方说没收到", "没有这笔", "没这笔", "里没有", "根本没有", "根本没", "一分钱没有",
    "一分钱都没", "还是没有", "一直没有", "入账记录", "没有记录", "查无",
    r"nothing (?:\S+ ){0,2}(?:on|in) (?:my|the)", r"no (?:sign|trace|record|incoming)", r"(?:has|have|had) no record",
    r"there'?s no", r"still (?:shows?|says?|at|only|sitting)", r"find out where", r"where (?:this|the|my) (?:money|"
    r"funds|cash|transfer|refund) (?:is|went)", r"no (?:cash|money|notes) (?:came out|was dispensed|dispensed)",
    r"didn'?t (?:dispense|give me (?:the )?(?:cash|money))",
)
_MOVED = _alt(  # money that left (or was owed): what "not arrived" must be about
    r"transfer(?:s|red)?", r"top[- ]?ups?", r"topped up", r"withdraw(?:al|als|n)?", r"refund(?:s|ed)?",
    r"deposits?", r"sent (?:\w+ ){0,3}(?:money|funds|\d)", r"(?:money|funds|cash|payment)",
    r"swift", r"sepa", r"wire", r"remittance", r"withdrew",
    "转账", "转的钱", "转出", "汇款", "汇的钱", "汇到", "汇出", "打款", "充值", "充的钱", "提现", "退款", "退的钱", "退回",
    "钱", "款",
)
_LEFT = _alt(  # evidence the money really left the customer (a bare "refund not received yet" is not enough)
    r"(?:left|taken (?:out of|from)|gone from|debited from|deducted from|came out of|out of) my (?:account|card|"
    r"bank|balance|wallet)", r"(?:was|been|got|already) (?:debited|deducted|charged|taken)", r"debited",
    r"deducted", r"(?:you|they|it) (?:said|says|show(?:s|ed)?|confirmed|told me) (?:\w+ ){0,6}(?:sent|issued|"
    r"processed|completed|refunded|approved|paid)", r"(?:marked|shown|showing|listed) as (?:sent|complete|completed|"
    r"paid|refunded|successful)", r"status (?:\w+ ){0,2}(?:sent|complete|completed|successful|success)",
    r"recipient", r"(?:shows?|showed|showing|marked|says?|said) (?:it )?(?:as )?'?(?:sent|completed|complete|"
    r"successful|paid|done)", r"(?:refund|transfer|payment|money|withdrawal|top[- ]?up|remittance|funds)(?: \S+){0,4} "
    r"(?:sent|completed|issued|processed|approved|successful)", r"(?:sent|completed|issued|processed|approved) "
    r"(?:\S+ ){0,3}(?:refund|transfer|payment|money|withdrawal|funds)", r"gone from", r"(?:bank|card) (?:was |has been )?"
    r"(?:charged|debited)", r"(?:failed|declined|error)\S*(?: \S+){0,10} (?:but|and|yet) (?:\S+ ){0,4}(?:charged|debited|"
    r"deducted|took|taken|(?:says?|shows?|showing) -?[$£€¥]?-?\d)", r"(?:he|she|they|my (?:friend|mum|mom|dad|landlord|son|daughter|sister|brother)) "
    r"(?:\w+ ){0,3}(?:didn'?t|hasn'?t|never|did not|has not) (?:get|got|receive)",
    "扣了", "被扣", "已扣", "扣款成功", "扣钱了", "钱扣了", "已经扣", "已经转", "转出去", "转过去", "已转", "已汇",
    "显示(?:已|成功|完成)", "已(?:退|退款|打款|处理|完成|到账)", "退款成功", "转账成功", "支付成功", "付款成功", "已经退",
    "对方", "收款人", "银行卡里没", "卡里没", "账户里没", "余额没", "扣款", "就扣", "原路退回", "已退回", "已发出",
    "显示", "成功", "完成", "回单", "sent了", "completed",
)
_VANISHED = _alt(
    r"(?:balance|money|funds|savings) (?:\w+ ){0,3}(?:gone|disappeared|vanished|missing|dropped|went down|is lower|"
    r"is less|is zero|is 0|decreased|shrunk|reduced)", r"(?:less|lower) (?:money|balance) than", r"(?:balance|funds|money)"
    r" (?:\w+ ){0,3}(?:frozen|blocked|locked|on hold|held)", r"(?:account|card) (?:\w+ ){0,3}frozen", r"froze my (?:account|funds|money|card)",
    r"(?:where did|where's|where is) (?:all )?my (?:money|balance|funds)", r"empty(?:ed)? my (?:account|balance|wallet)",
    "余额(?:\\S{0,6})(?:不见|没了|少了|变少|清零|变成0|为0|丢失|消失|不对)", "钱(?:\\S{0,4})(?:少了|不见|没了|被转走|被取走)", "被(?:划|转|取|刷|扣)走",
    "(?:资金|账户|余额|钱|卡)(?:\\S{0,4})(?:被)?冻结", "少了(?:\\d+|几百|几千|一百|两百|好多)",
)
_CARD = _alt(r"cards?", r"wallet", r"purse", r"phone", r"mobile", r"iphone", r"handbag", r"bag",
             "卡", "钱包", "手机")
_LOST = _alt(
    r"lost", r"stolen", r"(?:was|got|been) (?:nicked|pinched|taken|robbed|pickpocketed)", r"pickpocket(?:ed)?", r"robbed",
    r"can'?t find", r"cannot find", r"misplaced", r"left (?:it|my \w+) (?:on|in|at)", r"(?:swallowed|ate|kept|retained|took) my card",
    r"(?:atm|machine|cash machine) (?:swallowed|ate|kept|retained|took|didn'?t (?:give|return))", r"someone (?:else )?"
    r"(?:has|is using|used|took|stole)", r"(?:card|wallet|phone) (?:is |was |went )?missing",
    r"swallowed", r"retained", r"eaten",
    "丢了", "丢失", "掉了", "被偷", "被盗", "偷了", "偷走", "被抢", "找不到", "不见了", "遗失", "吞卡", "吞了", "被吞",
    "没吐", "不退卡", "卡被(?:吞|扣|留)",
)
_TAKEOVER = _alt(
    r"hack(?:ed|er|ers)?", r"(?:account|login|profile) (?:\w+ ){0,2}(?:compromised|taken over|broken into)",
    r"someone (?:else )?(?:has )?(?:logged|signed|got|gotten|broke|broken|accessed|is (?:in|using|logged)|changed|reset)"
    r"(?: \w+){0,3} (?:in|into|my (?:account|password|email|phone number|pin))", r"someone (?:else )?(?:has )?"
    r"(?:access to|accessed) my", r"(?:password|pin|email|phone number) (?:\w+ ){0,3}(?:changed|reset) (?:\w+ ){0,4}"
    r"(?:not me|wasn'?t me|didn'?t|without)", r"(?:didn'?t|did not|never) (?:change|reset|request) (?:\w+ ){0,3}"
    r"(?:password|pin|email|code)", r"(?:login|log in|log-in|sign[- ]in|signed in|logged in)(?: \w+){0,4} "
    r"(?:from|on|in) (?:an? )?(?:unknown|new|strange|different|another|unrecogni[sz]ed|foreign)",
    r"gave (?:\S+ ){0,4}(?:code|otp|password|pin|verification)", r"(?:code|otp|password|pin) (?:\S+ ){0,3}"
    r"to (?:someone|a (?:man|woman|caller|guy)|him|her|them) ",
    r"(?:new|unknown|unrecogni[sz]ed|strange) (?:device|login|location|sign[- ]in)(?: \w+){0,6} "
    r"(?:not me|wasn'?t me|isn'?t mine|didn'?t|never)", r"locked me out (?:\w+ ){0,3}(?:changed|password)",
    "被盗", "盗号", "被黑", "被人登", "被别人登", "别人登(?:录|陆)", "有人登(?:录|陆)", "异地登(?:录|陆)", "陌生设备",
    "不明设备", "新设备登", "密码被(?:人)?改", "被改了密码", "被人改", "不是我(?:本人)?(?:操作|登|改)", "账号被(?:人)?(?:登|用|盗|占)",
    "账户被(?:人)?(?:登|用|盗|占)", "帐号被", "帐户被", "验证码(?:\\S{0,6})(?:不是我|没申请|我没)",
    "验证码(?:\\S{0,8})(?:报给|给了|告诉|发给)", "把验证码", "换绑", "被绑定",
)
_CREDENTIAL_CHANGED = _alt(
    r"(?:password|passcode|pin|e-?mail|phone number|mobile number|withdrawal card|payee)(?: \S+){0,4} "
    r"(?:changed|updated|reset|modified|added|removed)", r"(?:changed|updated|reset|modified) (?:\S+ ){0,2}"
    r"(?:password|passcode|pin|e-?mail|phone number)", r"new payee", r"reset (?:e-?mails?|codes?|requests?)",
    r"(?:verification|login|security|one-time) codes? (?:\S+ ){0,4}(?:received|came|sent|got)",
    r"(?:got|received|keep getting) (?:\S+ ){0,3}(?:verification|login|security|one-time|otp) codes?",
    "(?:修改|更改|改了|重置|换了)(?:\\S{0,4})(?:密码|手机号|邮箱|绑定)", "(?:密码|手机号|邮箱|绑定)(?:\\S{0,6})(?:修改|更改|改了|重置|换)",
    "验证码", "新增(?:\\S{0,4})收款",
)
_NOT_ME = _alt(
    r"not me", r"wasn'?t me", r"n[o']?t (?:\S+ )?(?:asked|requested|done|made|changed|touched|opened|logged)",
    r"never (?:asked|requested|changed|opened|logged)", r"haven'?t (?:\S+ )?(?:asked|requested|changed|opened|logged)",
    r"didn'?t (?:\S+ )?(?:ask|request|change|do|open|log)", r"without (?:me|my)", r"not by me",
    "不是我", "没申请", "没有申请", "没操作", "没有操作", "没打开", "没有打开", "没登", "没有登", "没改", "没有改", "根本没", "我没",
)
_DANGER = _alt(
    r"smok(?:e|ing|ed)", r"caught fire", r"on fire", r"flames?", r"sparks?", r"sparking", r"electric(?:al)? shock",
    r"(?:got|get|getting) (?:a )?shock", r"shocked me", r"burn(?:ing|t) smell", r"smell(?:s|ed)? (?:of )?burn",
    r"melt(?:ed|ing)", r"explod", r"bulg(?:e|ing|ed)", r"swell(?:ing|ed)", r"swollen", r"puff(?:ed|ing|y) up",
    r"squishy", r"(?:back|panel|screen|case|cover) (?:\S+ ){0,3}(?:lifted|lifting|popped|pushed) (?:up|off|away|out)",
    r"too hot to (?:touch|hold)", r"scorch", r"burned my", r"burnt my",
    "冒烟", "起火", "着火", "火花", "触电", "电到", "漏电", "烧焦", "焦味", "糊味", "烧化", "烧了", "爆炸", "炸了", "鼓包",
    "鼓起", "变形鼓", "烫伤", "烫手", "融化",
)
_HYPOTHETICAL = re.compile(
    r"\b(?:what happens|what would happen|what should i do|what do i do|what to do|how do i|how to) if\b|"
    r"\bwhat if\b|\bin case\b|\bif i ever\b|\bif (?:my|a|the) (?:card|wallet|phone) (?:gets|is ever|were|ever)\b|"
    r"\bshould (?:my|a) card\b|\bif (?:someone|anyone) ever\b|\bhypothetical|\bjust wondering\b|\bin the event\b|"
    r"假如|万一|如果|要是|假设|的话怎么"
)
"""A question about what would happen, not a report of what happened (checked in the clause before the
match)."""

_CLAUSE = re.compile(r"[.!?。！？\n;；]")


@dataclass(frozen=True, slots=True)
class _Pair:
    kind: str
    first: re.Pattern[str]
    second: re.Pattern[str]
    window: int = WINDOW


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_MONEY = _c(f"{_MONEY_EN}|{_MONEY_ZH}")
_PAIRS: tuple[_Pair, ...] = (
    _Pair("takeover", _c(_CREDENTIAL_CHANGED), _c(_NOT_ME)),
    _Pair("duplicate", _MONEY, _c(_TWICE)),
    _Pair("unrecognised", _MONEY, _c(_UNRECOGNISED)),
    _Pair("missing", _c(_MOVED), _c(_NOT_ARRIVED), 90),  # told as a story: amount, date, reference, then the gap
    _Pair("card_lost", _c(_CARD), _c(_LOST), 24),
)
_SINGLE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("vanished", _c(_VANISHED)),
    ("takeover", _c(_TAKEOVER)),
    ("danger", _c(_DANGER)),
)
_LEFT_RE = _c(_LEFT)
_MISSING_ALONE = _c(  # says by itself that money left and did not arrive
    r"(?:money|funds|payment|amount|it) (?:\w+ ){0,4}(?:left|taken|debited|deducted|gone) (?:\w+ ){0,6}"
    r"(?:but|and) (?:\w+ ){0,6}(?:not|never|no|n't)|"
    r"(?:失败|没成功|不成功|报错|出错)(?:\S{0,8})(?:扣|被扣|扣了)|"
    r"(?:扣了|扣款成功|付了钱|付款成功|支付成功|钱扣了|已扣款|扣了钱)(?:\S{0,12})(?:没|未|不)(?:\S{0,4})(?:到账|显示|成功|生成|收到|到|增加|更新|发货|订单)"
)


@dataclass(frozen=True, slots=True)
class Signal:
    """Money, an account or a person at risk: the kind and the words that say so (for the explanation)."""

    kind: str
    evidence: tuple[str, ...]

    @property
    def tag(self) -> str:
        """The ticket tag of the kind: funds_safety, account_security or safety_risk."""
        return {"takeover": "account_security", "danger": "safety_risk"}.get(self.kind, "funds_safety")

    def describe(self) -> str:
        what = {"funds_safety": "funds safety", "account_security": "account security", "safety_risk": "physical danger"}
        return f"{what[self.tag]}: {self.kind.replace('_', ' ')} ({' + '.join(repr(e) for e in self.evidence)})"


def _hypothetical(text: str, at: int) -> bool:
    """A hypothetical marker in the clause that holds position ``at``, before it."""
    start = max((m.end() for m in _CLAUSE.finditer(text, 0, at)), default=0)
    return _HYPOTHETICAL.search(text, start, at + 1) is not None


def _near(a: re.Pattern[str], b: re.Pattern[str], text: str, window: int) -> tuple[str, ...] | None:
    """Words of ``a`` and ``b`` within ``window`` characters of each other (either order), as evidence; a
    phrase of ``b`` that contains a word of ``a`` ("charged twice", "what is this 12.99 payment") is
    evidence on its own. The start of the earliest one is the last item."""
    hits_b = [(m.start(), m.end(), m.group(0)) for m in b.finditer(text)]
    if not hits_b:
        return None
    for m in a.finditer(text):
        for start, end, word in hits_b:
            if start < m.end() and m.start() < end:  # overlapping: only a phrase that holds the money word
                if start <= m.start() and m.end() <= end:
                    return word, start
                continue
            gap = start - m.end() if start >= m.end() else m.start() - end
            if gap <= window:
                return m.group(0), word, min(m.start(), start)
    return None


_STOP = object()
"""A match of the sequence may start with anything: the pattern cannot be screened."""


def _leads(items: list[tuple[object, object]]) -> set[str] | object:
    """Literal words one of which every match of the parsed sequence ``items`` starts with (lookarounds and
    word boundaries are zero-width and skipped), or :data:`_STOP`."""
    i = 0
    while i < len(items) and items[i][0] in (_op.AT, _op.ASSERT, _op.ASSERT_NOT):
        i += 1
    if i == len(items):
        return _STOP
    op, av = items[i]
    if op is _op.LITERAL:
        word = []
        while i < len(items) and items[i][0] is _op.LITERAL:
            word.append(chr(items[i][1]))  # type: ignore[call-overload]
            i += 1
        return {"".join(word)}
    if op is _op.IN:
        chars: set[str] = set()
        for kind, value in av:  # type: ignore[attr-defined]
            if kind is _op.LITERAL:
                chars.add(chr(value))
            elif kind is _op.RANGE and value[1] - value[0] < 64:
                chars.update(map(chr, range(value[0], value[1] + 1)))
            elif kind is _op.CATEGORY and value is _op.CATEGORY_DIGIT:
                chars.update("0123456789")
            else:
                return _STOP
        return chars
    if op is _op.SUBPATTERN:
        return _leads(list(av[3]))  # type: ignore[index]
    if op is _op.BRANCH:
        out: set[str] = set()
        for alternative in av[1]:  # type: ignore[index]
            found = _leads(list(alternative))
            if found is _STOP:
                return _STOP
            out |= found  # type: ignore[arg-type]
        return out
    if op in (_op.MAX_REPEAT, _op.MIN_REPEAT) and av[0] >= 1:  # type: ignore[index]
        return _leads(list(av[2]))  # type: ignore[index]
    return _STOP


class _Screen:
    """Which of the detector's patterns can match a text at all, by one Aho-Corasick pass (pyahocorasick)
    over the literal words their matches must start with (read from each pattern's parse): Python's regular
    expressions try every alternative at every position, ~60 µs a text for the detector's dozen
    alternations, most of it on texts that hold none of their words. A pattern whose matches may start with
    anything (``\\S``, a class of all letters) is always run. Only ever skips a search that could not match."""

    def __init__(self, patterns: list[re.Pattern[str]]) -> None:
        self.always: set[int] = set()
        owners: dict[str, set[int]] = {}
        for pattern in patterns:
            try:
                leads = _leads(list(_parse.parse(pattern.pattern)))
            except Exception:  # noqa: BLE001 - a parser change in a later Python: screen nothing, run it
                leads = _STOP
            if leads is _STOP or not leads or "" in leads:  # type: ignore[operator]
                self.always.add(id(pattern))
                continue
            for word in leads:  # type: ignore[union-attr]
                owners.setdefault(word, set()).add(id(pattern))
        self.automaton = ahocorasick.Automaton()
        for word, ids in owners.items():
            self.automaton.add_word(word, frozenset(ids))
        self.automaton.make_automaton()

    def possible(self, text: str) -> set[int]:
        """The ids of the patterns that may match ``text``."""
        found = set(self.always)
        if len(self.automaton):
            for _, ids in self.automaton.iter(text):
                found |= ids
        return found


_SCREEN = _Screen([*(p for _, p in _SINGLE), *(p for pair in _PAIRS for p in (pair.first, pair.second)),
                   _LEFT_RE, _MISSING_ALONE])


def detect(normalized: str) -> Signal | None:
    """The first safety signal in already normalised text, or None."""
    if not normalized:
        return None
    possible = _SCREEN.possible(normalized)  # patterns none of whose words is in the text are not searched
    for kind, pattern in _SINGLE:
        if id(pattern) not in possible:
            continue
        for m in pattern.finditer(normalized):
            if not _hypothetical(normalized, m.start()):
                return Signal(kind, (m.group(0).strip(),))
    for pair in _PAIRS:
        if id(pair.first) not in possible or id(pair.second) not in possible:
            continue
        found = _near(pair.first, pair.second, normalized, pair.window)
        if found is None:
            continue
        *words, at = found
        if _hypothetical(normalized, at):
            continue
        evidence = tuple(w.strip() for w in words)
        if pair.kind == "missing":
            left = _LEFT_RE.search(normalized) if id(_LEFT_RE) in possible else None
            if left is None:
                continue  # "my refund hasn't arrived yet" alone: a status question, not money lost
            evidence += (left.group(0).strip(),)
        return Signal(pair.kind, evidence)
    alone = _MISSING_ALONE.search(normalized) if id(_MISSING_ALONE) in possible else None
    if alone is not None and not _hypothetical(normalized, alone.start()):
        return Signal("missing", (alone.group(0).strip(),))
    return None
