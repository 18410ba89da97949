//! The processing notice (个人信息处理告知, PIPL Art. 7 and 17; SECURITY.md PI-02):
//! what a reporter is told before handing over a name and a phone number — why they
//! are collected, who receives them, how long they are kept, the reporter's rights
//! and whom to ask. One text for every channel: the report form and the citizen
//! pages show it, Open311 and the chat widget link to it, the 12345 and 110 operators
//! read it out. The version of the text in force is stored with each event it
//! covered, so that what a reporter was told can be shown years later.
//!
//! The text depends on the deployment (the retention period, the contact), so its
//! version is a digest of the rendered text (see the storage's `notices`), never a
//! number someone must remember to raise.

/// What a deployment puts into the notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeTerms {
    /// Reporters' personal data of closed events is erased this many days after the
    /// event closed (the setting `pii_retention_days`).
    pub retention_days: u32,
    /// Where a reporter asks about, corrects or withdraws their data.
    pub contact: String,
}

/// The rendered notice in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingNotice {
    pub zh: String,
    pub en: String,
}

impl ProcessingNotice {
    /// The notice for these terms. Each paragraph is one line, in the order PIPL
    /// Art. 17 lists: who processes, why and how, what, how long, the rights and how
    /// to use them.
    pub fn render(terms: &NoticeTerms) -> ProcessingNotice {
        let days = terms.retention_days;
        let contact = terms.contact.trim();
        let zh = [
            "个人信息处理告知".to_string(),
            "处理者：本市基层治理“四平台”（12345 政务服务热线、乡镇（街道）指挥室及各承办部门）。".to_string(),
            "目的与方式：您提供的姓名、手机号码仅用于受理、办理、回访您反映的问题，并按规定向承办部门、乡镇（街道）和市指挥中心传递；系统加密保存，工作人员默认只看到遮蔽后的号码，查看完整号码须说明理由并留痕。".to_string(),
            "可以匿名：不留姓名和电话也可以反映问题，但将无法向您反馈办理结果或请您评价。".to_string(),
            "公开：对外公开的办理情况不含您的姓名、电话和身份证号。".to_string(),
            format!("保存期限：事件办结 {days} 天后，您的姓名和电话将被删除，事件本身去标识化后留作统计。"),
            format!("您的权利：您可以查询、复制、更正或删除您的个人信息，也可以撤回同意；请联系：{contact}。"),
        ]
        .join("\n");
        let en = [
            "Notice on personal information".to_string(),
            "Processed by: the city's grassroots governance \"four platforms\" (the 12345 government hotline, the township command rooms and the handling departments).".to_string(),
            "Purpose and means: the name and phone number you give are used only to accept, handle and follow up your report, and are passed to the handling department, the township and the city command centre as the rules require; they are stored encrypted, staff see a masked number by default, and showing the full number needs a stated reason and is recorded.".to_string(),
            "Anonymous reports are welcome, but then nobody can tell you the outcome or ask for your rating.".to_string(),
            "Publication: what is published about the handling never contains your name, phone or ID number.".to_string(),
            format!("Retention: {days} days after the event is closed your name and phone number are erased; the event itself is kept without them for statistics."),
            format!("Your rights: you may ask to see, copy, correct or delete your personal information, and withdraw consent; contact: {contact}."),
        ]
        .join("\n");
        ProcessingNotice { zh, en }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_names_retention_rights_and_contact_in_both_languages() {
        let n = ProcessingNotice::render(&NoticeTerms {
            retention_days: 180,
            contact: "拨打 12345".into(),
        });
        for part in ["目的", "承办部门", "180 天", "更正或删除", "拨打 12345"] {
            assert!(n.zh.contains(part), "{part} missing: {}", n.zh);
        }
        for part in [
            "Purpose",
            "handling department",
            "180 days",
            "correct or delete",
            "拨打 12345",
        ] {
            assert!(n.en.contains(part), "{part} missing: {}", n.en);
        }
        let other = ProcessingNotice::render(&NoticeTerms {
            retention_days: 365,
            contact: "拨打 12345".into(),
        });
        assert_ne!(n, other, "the terms are part of the text");
    }
}
