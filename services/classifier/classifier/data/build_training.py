"""Builds ``training_v1.jsonl``, the labelled bilingual training set shipped with the classifier.

Run ``uv run python -m classifier.data.build_training`` to regenerate (deterministic, seed 20261125).

Each *issue* below is one customer problem written by hand from the scenarios of the manuals (seed 000
服务需求智能分类, seed 001 分层处理, seed 002 问题解决跟踪表 / 物流延迟 / 退换货, seed 004 P1–P4 判定依据)
with its labels (category, module, priority) and a few Chinese and English wordings. Examples are those
wordings placed in realistic openings, contexts and closings (channel greetings, order references,
urgency remarks). Every example carries its wording id as ``group`` (issue:lang:index); the held-out
split takes whole wordings — the last Chinese and the last English wording of every issue — so
evaluation measures phrasings the model never saw, not the same sentence with another greeting.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("training_v1.jsonl")
SEED = 20261125
PER_CATEGORY = 260

# (issue id, category, module, priority, [zh wordings], [en wordings])
ISSUES: list[tuple[str, str, str, str, list[str], list[str]]] = [
    # ------------------------------------------------------------ pre-sales 售前咨询
    ("ps-price", "pre_sales", "product", "P3",
     ["这款{p}多少钱", "{p}现在什么价格", "想了解一下{p}的价格", "{p}的报价能发我一份吗"],
     ["how much is the {p}", "what is the price of the {p}", "could you send me a quote for the {p}"]),
    ("ps-discount", "pre_sales", "product", "P3",
     ["{p}最近有优惠活动吗", "买两台{p}能打折吗", "双十一{p}有没有折扣", "有没有优惠券可以领"],
     ["is there any discount on the {p}", "do you have a promotion for the {p} this month", "any coupon for new customers"]),
    ("ps-compare", "pre_sales", "product", "P3",
     ["{p}和上一代有什么区别", "{p}标准版和专业版怎么选", "帮我对比一下两款{p}的参数", "{p}跟别家比优势在哪"],
     ["what is the difference between the {p} and the older model", "which {p} version should I choose",
      "can you compare the two {p} models for me"]),
    ("ps-spec", "pre_sales", "product", "P3",
     ["{p}支持5G吗", "{p}的续航能有多久", "{p}是什么材质的", "{p}有几种颜色可选", "{p}的尺寸是多少"],
     ["does the {p} support 5G", "how long does the {p} battery last", "what colours does the {p} come in",
      "what are the dimensions of the {p}"]),
    ("ps-stock", "pre_sales", "product", "P3",
     ["{p}还有现货吗", "{p}什么时候到货", "{p}黑色的有货吗", "预售的{p}大概多久能买到"],
     ["is the {p} in stock", "when will the {p} be available again", "can I pre-order the {p}"]),
    ("ps-howbuy", "pre_sales", "product", "P3",
     ["在哪里可以买到{p}", "{p}线下门店有卖吗", "怎么下单购买{p}", "企业采购{p}怎么走流程"],
     ["where can I buy the {p}", "do you sell the {p} in physical stores", "how do I place a bulk order for the {p}"]),
    ("ps-invoice-pre", "pre_sales", "product", "P3",
     ["买{p}可以开增值税专用发票吗", "下单前想确认能不能开公司抬头的发票", "{p}支持分期付款吗"],
     ["can I get a VAT invoice if I buy the {p}", "do you offer instalment payment for the {p}",
      "can the invoice be issued to my company before I order"]),
    ("ps-warranty-pre", "pre_sales", "product", "P3",
     ["{p}保修期是多久", "买{p}送延保吗", "{p}的售后政策是怎样的"],
     ["how long is the warranty on the {p} before I buy", "does the {p} come with extended warranty",
      "what is your after-sales policy for the {p}"]),
    ("ps-ship-pre", "pre_sales", "logistics", "P3",
     ["现在下单{p}多久能发货", "{p}能送到新疆吗", "下单后一般几天能到", "可以指定送货时间吗"],
     ["if I order the {p} today when will it ship", "do you deliver the {p} to Hong Kong",
      "how many days does delivery usually take"]),
    ("ps-compat", "pre_sales", "technical", "P3",
     ["{p}能兼容苹果系统吗", "{p}可以连接我们公司的系统吗", "{p}支持API对接吗", "{p}能不能和老设备配合使用"],
     ["is the {p} compatible with macOS", "can the {p} integrate with our ERP system", "does the {p} offer an API"]),
    ("ps-trial", "pre_sales", "product", "P3",
     ["{p}可以申请试用吗", "有没有{p}的演示", "能先寄个样品看看吗"],
     ["can I get a free trial of the {p}", "could you arrange a demo of the {p}", "can you send a sample first"]),
    # ------------------------------------------------------------ after-sales 售后支持
    ("as-nopower", "after_sales", "after_sales", "P2",
     ["{p}无法开机", "{p}开不了机了", "{p}按电源键没反应", "{p}突然黑屏再也开不了机", "{p}充不进电也开不了机"],
     ["my {p} won't turn on", "the {p} does not power on anymore", "{p} is dead and will not start",
      "the {p} screen stays black and won't boot"]),
    ("as-refund-howto", "after_sales", "after_sales", "P3",
     ["退款流程是怎样的", "{p}不想要了怎么申请退款", "退款需要多久", "七天无理由退货怎么操作"],
     ["how do I request a refund for the {p}", "what is the refund process", "how long does a refund take",
      "I'd like to return the {p} within 7 days"]),
    ("as-refund-missing", "after_sales", "after_sales", "P2",
     ["退款申请已经通过了但钱还没到账", "说好三天退款到账现在还没收到", "退款一直显示处理中", "退款到账金额不对"],
     ["my refund was approved but the money has not arrived", "it's been a week and I still haven't got my refund",
      "the refund shows processing for days"]),
    ("as-exchange", "after_sales", "after_sales", "P3",
     ["收到的{p}颜色发错了想换货", "{p}尺寸不合适能换一个吗", "收到{p}有划痕要求换新", "{p}少了配件"],
     ["I received the wrong colour {p} and want an exchange", "the {p} arrived scratched, please replace it",
      "the {p} box is missing the charger"]),
    ("as-repair", "after_sales", "after_sales", "P3",
     ["{p}送修一周了维修进度怎么样", "{p}在保修期内可以免费维修吗", "{p}维修点在哪", "{p}屏幕碎了怎么修"],
     ["what is the status of my {p} repair", "is the {p} repair covered by warranty", "where can I get my {p} repaired",
      "the {p} screen cracked, how do I get it fixed"]),
    ("as-howto", "after_sales", "product", "P3",
     ["{p}怎么恢复出厂设置", "{p}的蓝牙怎么连接", "{p}怎么设置定时功能", "{p}说明书找不到了怎么用", "{p}怎么升级固件"],
     ["how do I factory reset the {p}", "how do I pair the {p} over bluetooth", "how to set the timer on the {p}",
      "where can I find the {p} manual"]),
    ("as-hwfault", "after_sales", "after_sales", "P2",
     ["{p}用了两天就坏了", "{p}屏幕出现条纹", "{p}有异响", "{p}摄像头打不开", "{p}充电特别慢而且发烫"],
     ["the {p} broke after two days", "there are lines across the {p} screen", "the {p} makes a strange noise",
      "the {p} camera stopped working"]),
    ("as-bug", "after_sales", "technical", "P3",
     ["App一打开就闪退", "{p}的App更新后老是报错", "同步数据时提示错误代码", "页面一直加载不出来", "App偶尔卡顿"],
     ["the app crashes when I open it", "after the update the {p} app keeps showing an error",
      "sync fails with an error code", "the page keeps loading forever"]),
    ("as-blocked", "after_sales", "technical", "P2",
     ["{p}完全无法使用了", "激活码一直提示无效用不了", "绑定设备失败没法用", "升级后{p}功能全部用不了"],
     ["I can't use the {p} at all since yesterday", "my activation code is rejected so the {p} is unusable",
      "the {p} stopped working completely after the update"]),
    ("as-account", "after_sales", "technical", "P3",
     ["忘记密码怎么找回", "手机号换了怎么改绑", "怎么注销账号", "收不到验证码"],
     ["I forgot my password, how do I reset it", "how do I change the phone number on my account",
      "I don't receive the verification code"]),
    ("as-logi-late", "after_sales", "logistics", "P3",
     ["订单下了三天还没发货", "物流一直没更新", "快递显示已签收但我没收到", "我的包裹到哪了", "物流太慢了"],
     ["my order has not shipped after three days", "the tracking has not updated for a week",
      "the parcel shows delivered but I never got it", "where is my package"]),
    ("as-logi-urgent", "after_sales", "logistics", "P2",
     ["急需商品参加活动但下单三天未发货", "快递丢件了请马上处理", "货物在运输中损坏了", "发错地址了东西被退回"],
     ["I urgently need the goods for an event and they still haven't shipped", "the courier lost my parcel",
      "the {p} was damaged in transit"]),
    ("as-order-status", "after_sales", "technical", "P2",
     ["订单支付成功但未显示物流", "付款后订单状态一直是待支付", "订单页面看不到我买的{p}"],
     ["I paid but the order shows no shipping info", "the order still says unpaid after payment",
      "my {p} order disappeared from my account"]),
    ("as-invoice", "after_sales", "after_sales", "P3",
     ["买了{p}怎么开发票", "发票抬头开错了能重开吗", "电子发票没收到"],
     ["how can I get an invoice for my {p} purchase", "the invoice has the wrong company name",
      "I haven't received the electronic invoice"]),
    # P1 after-sales: funds / outage / safety / account security
    ("as-funds", "after_sales", "after_sales", "P1",
     ["扣款异常被扣了两次钱", "没买东西账户却被扣款", "余额突然不见了", "银行卡被重复扣款", "资金被冻结无法提现"],
     ["I was charged twice for one order", "money was taken from my account without a purchase",
      "my balance disappeared", "there is an unauthorized charge on my card"]),
    ("as-outage", "after_sales", "technical", "P1",
     ["系统无法登录影响业务办理", "所有员工都登不上后台", "平台大面积瘫痪", "服务中断客户都无法下单",
      "全部门店收银系统崩溃了"],
     ["nobody in our company can log in", "the whole platform is down for all users", "service outage, customers cannot order",
      "the system crashed for every store"]),
    ("as-safety", "after_sales", "after_sales", "P1",
     ["{p}充电时冒烟了", "{p}漏电被电了一下", "{p}电池鼓包有爆炸危险", "{p}起火把桌子烧了"],
     ["the {p} started smoking while charging", "I got an electric shock from the {p}", "the {p} battery is swelling",
      "the {p} caught fire"]),
    ("as-hacked", "after_sales", "technical", "P1",
     ["账号被盗了有人在异地登录", "我的账户被别人改了密码", "发现账号里有陌生人下单"],
     ["my account was hacked", "someone changed my password and logged in", "strangers are placing orders from my account"]),
    # ------------------------------------------------------------ complaint 投诉建议
    ("cp-attitude", "complaint", "after_sales", "P3",
     ["客服态度太差了", "你们客服说话很不耐烦", "电话里被客服挂断了", "客服一直敷衍我"],
     ["your support agent was rude to me", "the agent hung up on me", "your staff keep brushing me off"]),
    ("cp-slow", "complaint", "after_sales", "P3",
     ["等了半天都没人回复我", "问题反映了三次都没人处理", "客服回复太慢了", "每次都说会回电结果没人打"],
     ["nobody has replied to me for days", "I've reported this three times and nothing happened",
      "your response time is terrible"]),
    ("cp-quality", "complaint", "product", "P3",
     ["{p}质量太差了非常失望", "宣传和实物严重不符", "{p}做工粗糙跟描述不一样", "买到的{p}是翻新机"],
     ["the {p} quality is awful, very disappointed", "the {p} is nothing like the advertisement",
      "I think I was sold a refurbished {p}"]),
    ("cp-logistics", "complaint", "logistics", "P3",
     ["快递员态度恶劣还乱扔包裹", "快递员没送货上门就点了签收", "投诉你们合作的快递公司"],
     ["the courier threw my parcel and was rude", "the courier marked it delivered without coming",
      "I want to complain about your delivery company"]),
    ("cp-result", "complaint", "after_sales", "P3",
     ["对处理结果很不满意", "说好的补偿一直没给", "售后推来推去没人负责", "维修了三次还是同样的问题"],
     ["I'm not satisfied with how this was handled", "the compensation you promised never came",
      "after-sales keeps passing me around", "it's been repaired three times and the problem is back"]),
    ("cp-escalate", "complaint", "after_sales", "P2",
     ["再不解决我就去12315投诉", "我要找你们领导投诉", "不处理我就找媒体曝光", "已经联系律师准备起诉"],
     ["if this isn't fixed I will report you to the consumer association", "I want to speak to your manager now",
      "I will post this on social media and contact the press", "my lawyer will be in touch"]),
    ("cp-billing", "complaint", "after_sales", "P2",
     ["乱收费还不给解释", "会员自动续费没有提醒太坑了", "价格说变就变我要投诉"],
     ["you billed me for something I never agreed to", "the automatic renewal charged me without notice",
      "I'm complaining about hidden fees"]),
    ("cp-privacy", "complaint", "technical", "P2",
     ["我的个人信息被泄露了天天接到骚扰电话", "你们的App偷偷收集隐私", "没经过同意就给我发营销短信"],
     ["my personal data was leaked and I get spam calls", "your app collects data without consent",
      "stop sending me marketing messages I never agreed to"]),
    # ------------------------------------------------------------ requirement 需求
    ("rq-feature", "requirement", "product", "P4",
     ["建议{p}增加夜间模式", "希望{p}能支持多语言", "能不能加一个数据导出功能", "希望增加批量操作", "建议App加上指纹登录"],
     ["please add a dark mode to the {p}", "it would be nice if the {p} supported more languages",
      "feature request: export data to Excel", "I suggest adding fingerprint login to the app"]),
    ("rq-improve", "requirement", "product", "P4",
     ["{p}的界面可以做得更简洁一些", "建议优化一下下单流程", "说明书可以写得更详细", "希望包装更环保一点"],
     ["the {p} interface could be simpler", "the checkout process could be improved",
      "the manual should be more detailed", "consider using eco-friendly packaging"]),
    ("rq-integration", "requirement", "technical", "P4",
     ["希望能开放接口对接我们的系统", "建议支持企业微信通知", "能否提供SDK给开发者"],
     ["we would like an API to connect our system", "please support Slack notifications",
      "could you provide an SDK for developers"]),
    ("rq-logistics", "requirement", "logistics", "P4",
     ["希望可以选择顺丰配送", "建议增加自提点", "希望可以预约送货时间"],
     ["please offer express shipping as an option", "it would be great to have pickup points",
      "let customers choose a delivery time slot"]),
    ("rq-service", "requirement", "after_sales", "P4",
     ["建议客服延长服务时间到晚上十点", "希望售后可以上门取件", "建议增加在线视频指导"],
     ["please extend support hours into the evening", "it would help if returns could be picked up at home",
      "offering video call support would be nice"]),
    ("rq-product-new", "requirement", "product", "P4",
     ["希望推出{p}的mini版", "能不能出一款适合老人用的{p}", "希望{p}有更多配色"],
     ["please make a smaller version of the {p}", "you should release a {p} designed for seniors",
      "I'd love more colour options for the {p}"]),
    # ------------------------------------------------------------ other 其他
    ("ot-partner", "other", "product", "P3",
     ["想跟贵公司谈一下商务合作", "我们想做{p}的代理商", "加盟需要什么条件", "希望成为你们的渠道合作伙伴"],
     ["we are interested in a business partnership", "we'd like to become a reseller of the {p}",
      "what are the requirements to become a distributor"]),
    ("ot-job", "other", "product", "P4",
     ["你们公司还招人吗", "想投递简历应该发到哪里", "有实习岗位吗"],
     ["are you hiring", "where can I send my CV", "do you offer internships"]),
    ("ot-media", "other", "product", "P3",
     ["我是记者想做个采访", "想邀请贵公司参加行业展会", "学校课题想做个问卷调研"],
     ["I'm a journalist and would like an interview", "we'd like to invite you to a trade fair",
      "I'm a student doing a survey for a university project"]),
    ("ot-misc", "other", "product", "P4",
     ["你们公司地址在哪", "你们上班时间是几点", "测试一下", "你好在吗", "谢谢你们之前的帮助"],
     ["what is your office address", "what are your opening hours", "just testing", "hello is anyone there",
      "thanks for your help last time"]),
    ("ot-wrong", "other", "product", "P4",
     ["打错电话了不好意思", "这个号码是哪个公司的", "我想找另一家店的客服"],
     ["sorry wrong number", "which company is this", "I was looking for a different shop"]),
]

PRODUCTS_ZH = ["手机", "平板", "耳机", "扫地机器人", "空气净化器", "智能手表", "笔记本电脑", "路由器", "电饭煲", "会员服务"]
PRODUCTS_EN = ["phone", "tablet", "headphones", "robot vacuum", "air purifier", "smart watch", "laptop", "router",
               "rice cooker", "membership"]
OPEN_ZH = ["", "", "你好，", "您好，", "客服你好，", "在吗？", "麻烦问一下，", "请问", "打扰一下，"]
CONTEXT_ZH = ["", "", "", "订单号 [order]，", "上周买的，", "昨天刚收到，", "在你们官网买的，", "我是老客户了，",
              "朋友推荐的，"]
CLOSE_ZH = ["", "", "", "。", "，谢谢", "，麻烦尽快处理", "，急！", "，等回复", "，请回电 [phone]", "。"]
OPEN_EN = ["", "", "Hi, ", "Hello, ", "Dear support, ", "Good morning, ", "Quick question: "]
CONTEXT_EN = ["", "", "", "order [order]: ", "I bought it last week and ", "I'm a long-time customer and ",
              "just received it and "]
CLOSE_EN = ["", "", ".", ", thanks", ", please help", ". Please reply ASAP", ", call me at [phone]", "!"]


def _held_out(wordings: list[str], index: int) -> bool:
    return len(wordings) >= 3 and index == len(wordings) - 1


def build() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    issues_in = {c: sum(1 for i in ISSUES if i[1] == c) for c in {i[1] for i in ISSUES}}
    for issue, category, module, priority, zh, en in ISSUES:
        per_issue = -(-PER_CATEGORY // issues_in[category])
        made = attempts = 0
        while made < per_issue and attempts < per_issue * 50:
            attempts += 1
            if rng.random() < 0.55:
                k = rng.randrange(len(zh))
                split, group = ("test" if _held_out(zh, k) else "train"), f"{issue}:zh:{k}"
                core = zh[k].replace("{p}", rng.choice(PRODUCTS_ZH))
                text = rng.choice(OPEN_ZH) + rng.choice(CONTEXT_ZH) + core + rng.choice(CLOSE_ZH)
                lang = "zh"
            else:
                k = rng.randrange(len(en))
                split, group = ("test" if _held_out(en, k) else "train"), f"{issue}:en:{k}"
                core = en[k].replace("{p}", rng.choice(PRODUCTS_EN))
                opener, context = rng.choice(OPEN_EN), rng.choice(CONTEXT_EN)
                text = opener + context + (core if (opener or context) else core[:1].upper() + core[1:])
                text += rng.choice(CLOSE_EN)
                lang = "en"
            if text in seen:
                continue
            seen.add(text)
            made += 1
            rows.append({"text": text, "category": category, "module": module, "priority": priority,
                         "lang": lang, "group": group, "split": split})
    return rows


def main() -> None:
    rows = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()[:12]
    print(f"wrote {len(rows)} examples to {OUT} (sha256 {digest})")


if __name__ == "__main__":
    main()
