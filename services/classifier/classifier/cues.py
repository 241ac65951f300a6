"""Cue words: hand-written groups of words that say the same thing to a support desk (the customer owns
the product, has not bought yet, is dissatisfied with the company, wishes for something, needs nothing,
reports a fault, talks business). The model gets one extra feature per group present (``cue:owned`` …), so
a wording that uses a member it never saw in training still carries what its group means — TF-IDF alone
only knows the n-grams it was trained on. Pure data + matching; written from the manuals' scenarios and
the labelling guidelines (``data/build_training.py``), not from evaluation texts.

Matching runs on normalised text (:func:`classifier.domain.normalize`): Chinese terms are substrings;
latin terms must start a word (``refund`` matches "refunds", not "prefund").
"""

from __future__ import annotations

import ahocorasick

CUES: dict[str, tuple[str, ...]] = {
    # the customer already has the product / an order / an account in use
    "owned": (
        "我的", "我家的", "我买的", "买的", "买了", "刚买", "收到", "到手", "用了", "用着", "入手了", "下单了", "已付款",
        "我那台", "我这台", "我这个", "我那个", "寄回", "售后", "保修期内", "换货", "退货", "维修",
        "my ", "mine", "i bought", "i got", "i've had", "i have had", "since i got", "we bought", "purchased",
        "received", "arrived", "delivered", "i ordered", "my order", "came with", "out of the box", "after i",
    ),
    # not bought yet: buying, choosing, availability
    "prepurchase": (
        "想买", "打算买", "准备买", "考虑买", "要不要买", "值得买", "值不值", "买之前", "下单前", "购买前", "入手前", "先试",
        "有货", "现货", "到货", "预售", "哪款", "哪个型号", "推荐", "选哪", "对比", "区别", "怎么买", "在哪买", "哪里买",
        "多少钱", "价格", "报价", "优惠", "折扣", "便宜", "能开发票吗", "包邮",
        "thinking of buying", "thinking about buying", "planning to buy", "want to buy", "would like to buy",
        "before i buy", "before buying", "before i order", "considering", "worth buying", "in stock", "available in",
        "which one", "which model", "recommend", "compare", "difference between", "how much", "price", "quote",
        "discount", "coupon", "deal on", "where can i buy", "how do i buy", "how can i buy", "pre-order",
    ),
    # dissatisfaction with the company, its staff, couriers or the handling; escalation
    "dissatisfied": (
        "投诉", "太差", "差劲", "不满", "失望", "离谱", "恶心", "垃圾", "坑人", "被坑", "骗", "忽悠", "敷衍", "踢皮球",
        "态度", "凭什么", "什么意思", "说不过去", "不合理", "不像话", "过分", "差评", "避雷", "曝光", "媒体", "律师",
        "12315", "消协", "工商", "维权", "讨个说法", "给个说法", "没人管", "没人理", "不理人", "推来推去", "一拖再拖",
        "还要等多久", "受够", "气死", "无语", "服了", "太慢", "怎么回事", "承诺", "挂断", "骂", "甩锅", "霸王条款",
        "complain", "unacceptable", "ridiculous", "disappointed", "disappointing", "terrible", "awful", "rude",
        "worst", "disgrace", "a joke", "scam", "fed up", "appalling", "useless", "pathetic", "shameful",
        "outrageous", "nobody", "no one", "ignored", "ignoring", "lied", "promised", "hung up", "attitude",
        "sick of", "how dare", "lawyer", "trading standards", "consumer", "review", "going public", "report you",
        "still waiting", "again and again", "third time", "not good enough", "poor service", "bad service",
    ),
    # a suggestion or a wish (需求)
    "wish": (
        "建议", "希望", "能不能加", "能否增加", "可以加", "加个", "增加", "新增", "支持一下", "出一款", "推出", "期待",
        "就好了", "要是能", "如果能", "改进", "优化", "改一下", "能不能出", "什么时候出", "考虑一下",
        "suggest", "suggestion", "would be nice", "would be great", "would love", "i wish", "please add",
        "could you add", "can you add", "feature request", "it would help", "why not", "consider adding",
        "it'd be", "should have", "add an option", "add a ", "idea",
    ),
    # nothing to do: tests, mistakes, small talk, jobs (not "thanks": every kind of message ends with it)
    "no_action": (
        "不用了", "没事了", "已经好了", "解决了", "打错", "发错", "点错", "测试一下", "简历", "应聘", "招聘", "求职",
        "面试", "岗位", "实习", "天气", "哈哈", "随便问问", "随便聊", "拜拜", "再见", "辛苦了", "点赞", "好评",
        "never mind", "nevermind", "sorted", "all good", "wrong number", "by mistake",
        "by accident", "test", "testing", "resume", "cv", "job", "vacancy", "vacancies", "career", "intern",
        "interview", "hiring", "bye", "have a nice", "just saying", "great job", "keep it up",
    ),
    # something bought does not work
    "fault": (
        "坏了", "故障", "不亮", "开不了机", "开不开机", "无法开机", "死机", "闪退", "异响", "失灵", "不工作", "黑屏", "花屏",
        "卡顿", "没反应", "充不进", "连不上", "报错", "掉线", "漏水", "发烫", "不转", "不出", "断断续续", "杂音",
        "broken", "stopped working", "won't", "doesn't work", "does not work", "not working", "crash", "dead",
        "faulty", "defective", "error", "freezes", "frozen", "keeps", "no sound", "won't charge", "glitch",
        "flicker", "noise", "leak", "overheat",
    ),
    # money taken or missing (seed 004 P1 资金安全, P2 退款未到账)
    "money": (
        "扣款", "扣费", "扣了", "扣钱", "多扣", "重复扣", "乱扣", "余额", "盗刷", "冻结", "没到账", "未到账", "不到账", "退款",
        "钱没", "付了钱", "转账",
        "charged", "charge", "debited", "deducted", "double", "twice", "balance", "refund", "money", "payment",
        "frozen", "unauthori", "withdrawal",
    ),
    # danger to people or property (seed 000 安全风险)
    "safety": (
        "冒烟", "起火", "着火", "火花", "触电", "漏电", "烧焦", "烧化", "烧了", "爆炸", "鼓包", "烫伤", "焦味",
        "smoke", "fire", "flame", "spark", "shock", "burn", "melt", "explod", "swollen", "swelling",
    ),
    # many users / the service itself down (seed 004 P1 核心业务中断)
    "outage": (
        "大面积", "所有人", "大家都", "全部用户", "都登不上", "都登录不了", "瘫痪", "崩了", "宕机", "打不开了", "全挂",
        "everyone", "all users", "nobody can", "no one can", "whole site", "site is down", "is down", "outage",
        "all of us", "whole team",
    ),
    # someone else in the account (seed 001 账户安全)
    "takeover": (
        "被盗", "被人登", "异地登录", "陌生设备", "被改了密码", "不是我操作", "不是本人", "盗号",
        "hacked", "someone logged", "someone else", "not me", "stolen", "taken over", "unknown device",
        "changed my password",
    ),
    # the customer cannot use what they bought / needs it now (seed 004 P2)
    "blocked": (
        "用不了", "没法用", "无法使用", "不能用", "登不上", "登录不了", "被封", "封号", "急用", "马上要", "明天就要",
        "丢了", "丢件", "破损", "压坏", "摔坏",
        "can't use", "cannot use", "unusable", "locked out", "blocked", "suspended", "need it by", "urgent",
        "lost", "missing", "damaged", "smashed", "crushed",
    ),
    # business contacts (合作, media, research)
    "business": (
        "合作", "代理", "加盟", "渠道", "经销", "批发", "供应商", "采访", "记者", "媒体", "调研", "问卷", "论文", "赞助",
        "广告投放", "商务",
        "partnership", "partner", "distributor", "reseller", "wholesale", "supplier", "agent programme",
        "interview", "journalist", "press", "media", "survey", "research", "sponsor", "advertising", "collaborat",
    ),
}

def _automaton() -> ahocorasick.Automaton:
    """One Aho-Corasick automaton of every group's terms (pyahocorasick): a single C-level pass over the text
    finds every occurrence, overlapping ones included, whatever the number of terms (twelve groups of
    ``str.__contains__`` scans cost ~40 µs a text, the pass a few). A term's value: the term, whether it must
    start a word (it starts with a latin letter or digit), and the indexes of the groups it belongs to."""
    owners: dict[str, list[int]] = {}
    for number, terms in enumerate(CUES.values()):
        for term in terms:
            owners.setdefault(term, [])
            if number not in owners[term]:
                owners[term].append(number)
    automaton = ahocorasick.Automaton()
    for term, groups in owners.items():
        automaton.add_word(term, (len(term), term[:1].isascii() and term[:1].isalnum(), tuple(groups)))
    automaton.make_automaton()
    return automaton


_AUTOMATON = _automaton()
_NAMES = tuple(f"cue:{name}" for name in CUES)


def cues(normalized: str) -> list[str]:
    """The ``cue:<group>`` features of already normalised text (each group at most once, in the order of
    :data:`CUES`). Not the rules' term compiler (``domain._compile_terms``): it normalises terms, which
    strips the trailing space ``"my "`` relies on."""
    found: set[int] = set()
    for end, (size, latin, groups) in _AUTOMATON.iter(normalized):
        if latin:
            at = end - size + 1
            if at > 0 and normalized[at - 1].isascii() and normalized[at - 1].isalnum():
                continue  # a latin term must start a word: "refund" matches "refunds", not "prefund"
        found.update(groups)
    return [_NAMES[number] for number in sorted(found)]
